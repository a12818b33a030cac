import { readFile } from "node:fs/promises";
import { type McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { isUserError } from "./core/errors.js";
import { SLUG_RE } from "./core/ids.js";
import type { TaskStore } from "./store/tasks.js";
import { readTemplate } from "./store/templates.js";
import { storePath, type Workspace } from "./store/workspace.js";

interface ResourceDeps {
  workspace(): Promise<Workspace>;
  storeFor(ws: Workspace): Promise<TaskStore>;
}

/** MCP's "resource not found" error code. */
const RESOURCE_NOT_FOUND = -32002;

function one(v: string | string[] | undefined): string {
  return Array.isArray(v) ? (v[0] ?? "") : (v ?? "");
}

async function readOrExplain(path: string, missing: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new McpError(RESOURCE_NOT_FOUND, missing);
    throw err;
  }
}

/** delegate://templates/mini-task, delegate://projects/{project}/log, delegate://tasks/{project}/{task}. */
export function registerResources(server: McpServer, deps: ResourceDeps): void {
  server.registerResource(
    "mini-task-template",
    "delegate://templates/mini-task",
    { title: "Mini-task template", description: "The mini-task spec template.", mimeType: "text/markdown" },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: "text/markdown", text: await readTemplate("mini-task.md") }],
    }),
  );

  server.registerResource(
    "project-log",
    new ResourceTemplate("delegate://projects/{project}/log", {
      list: async () => {
        const ws = await deps.workspace();
        const projects = await (await deps.storeFor(ws)).projects();
        return {
          resources: projects.map((p) => ({
            uri: `delegate://projects/${p}/log`,
            name: `${p} LOG.md`,
            mimeType: "text/markdown",
          })),
        };
      },
    }),
    {
      title: "Project savings log",
      description: "A project's LOG.md (savings_report writes it).",
      mimeType: "text/markdown",
    },
    async (uri, vars) => {
      const project = one(vars.project);
      if (!SLUG_RE.test(project))
        throw new McpError(ErrorCode.InvalidParams, `project "${project}" is not a project slug.`);
      const ws = await deps.workspace();
      let path: string;
      try {
        path = await storePath(ws, project, "LOG.md");
      } catch (err) {
        if (isUserError(err)) throw new McpError(ErrorCode.InvalidParams, err.message);
        throw err;
      }
      const text = await readOrExplain(
        path,
        `${ws.dirRel}/${project}/LOG.md does not exist yet; call savings_report for ${project} first.`,
      );
      return { contents: [{ uri: uri.href, mimeType: "text/markdown", text }] };
    },
  );

  server.registerResource(
    "task",
    new ResourceTemplate("delegate://tasks/{project}/{task}", {
      list: async () => {
        const ws = await deps.workspace();
        const { tasks } = await (await deps.storeFor(ws)).list();
        return {
          resources: tasks.map((t) => ({
            uri: `delegate://tasks/${t.id}`,
            name: `${t.id} (${t.status})`,
            mimeType: "text/markdown",
          })),
        };
      },
    }),
    { title: "Mini-task", description: "A mini-task's rendered markdown.", mimeType: "text/markdown" },
    async (uri, vars) => {
      const id = `${one(vars.project)}/${one(vars.task)}`;
      const ws = await deps.workspace();
      const store = await deps.storeFor(ws);
      let path: string;
      try {
        path = store.jsonPath(id).replace(/\.json$/, ".md");
      } catch (err) {
        throw new McpError(ErrorCode.InvalidParams, (err as Error).message);
      }
      const text = await readOrExplain(path, `task ${id} does not exist; list_tasks shows the ids.`);
      return { contents: [{ uri: uri.href, mimeType: "text/markdown", text }] };
    },
  );
}
