/**
 * A client we did not write: the MCP Inspector CLI drives the built server over stdio and over
 * Streamable HTTP. It runs on this Node (20): its engines field (>= 22) is only a warning to npm.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLI,
  cleanEnv,
  type HttpServer,
  makeRepo,
  PROJECT_ROOT,
  removeDir,
  startHttp,
  startServer,
  tempDir,
  textOf,
} from "./harness.js";

const INSPECTOR_DIR = join(PROJECT_ROOT, "node_modules", "@modelcontextprotocol", "inspector");
const INSPECTOR = join(
  INSPECTOR_DIR,
  (JSON.parse(readFileSync(join(INSPECTOR_DIR, "package.json"), "utf8")) as { bin: Record<string, string> })
    .bin["mcp-inspector"]!,
);
const TOKEN = "inspector-test-token";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `mcp-inspector --cli ...args` on this Node, with a throw-away HOME (it keeps state under ~/.mcp-inspector). */
function inspector(home: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [INSPECTOR, "--cli", ...args],
      { env: cleanEnv({ HOME: home }), cwd: home, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function json<T>(run: Run): T {
  expect(run.code, `inspector exited ${run.code}:\n${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout) as T;
}

type ToolList = { tools: { name: string; inputSchema: { type: string }; outputSchema?: unknown }[] };
type ListTasks = {
  isError?: boolean;
  structuredContent: { count: number; tasks: { id: string; status: string }[] };
};

describe("MCP Inspector CLI against the built server", () => {
  let repo: string;
  let home: string;
  let taskId: string;
  let server: HttpServer;

  beforeAll(async () => {
    repo = makeRepo({ "src/a.ts": "export const a = 1;\n" });
    home = tempDir("delegate-inspector-home-");
    // One stored task, so list_tasks answers with data only this server could know.
    const stdio = await startServer({ root: repo });
    try {
      const created = await stdio.call("create_mini_task", {
        project: "demo",
        title: "Export b",
        objective: "Export a constant b next to a in src/a.ts.",
        context: "src/a.ts exports constants.",
        files_to_read: [{ path: "src/a.ts" }],
        files_to_modify: [{ path: "src/a.ts", action: "edit" }],
        steps: ["Add `export const b = 2;` after the line that exports a."],
        acceptance_criteria: ["src/a.ts exports b"],
        validation: [{ run: "grep -q 'export const b' src/a.ts" }],
      });
      expect(created.isError, textOf(created)).toBeFalsy();
      taskId = (created.structuredContent as { id: string }).id;
    } finally {
      await stdio.close();
    }
    server = await startHttp(repo, { DELEGATE_HTTP_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await server?.stop();
    if (repo) removeDir(repo);
    if (home) removeDir(home);
  });

  const stdioTarget = () => [process.execPath, CLI, "--root", repo, "-e", "DELEGATE_LOG=warn"];
  const auth = () => ["--header", `Authorization: Bearer ${TOKEN}`];

  it("stdio: tools/list shows every tool with its schemas", async () => {
    const listed = json<ToolList>(await inspector(home, [...stdioTarget(), "--method", "tools/list"]));
    const names = listed.tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(["create_mini_task", "dispatch_to_small_model", "list_tasks"]),
    );
    for (const tool of listed.tools) {
      expect(tool.inputSchema.type, tool.name).toBe("object");
      expect(tool.outputSchema, tool.name).toBeDefined();
    }
  });

  it("stdio: tools/call list_tasks returns the stored task", async () => {
    const result = json<ListTasks>(
      await inspector(home, [...stdioTarget(), "--method", "tools/call", "--tool-name", "list_tasks"]),
    );
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent.count).toBe(1);
    expect(result.structuredContent.tasks.map((t) => [t.id, t.status])).toEqual([[taskId, "ready"]]);
  });

  it("HTTP: tools/list and tools/call list_tasks with the bearer token", async () => {
    const listed = json<ToolList>(
      await inspector(home, [server.url, "--transport", "http", ...auth(), "--method", "tools/list"]),
    );
    expect(listed.tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(["create_mini_task", "list_tasks"]),
    );

    const result = json<ListTasks>(
      await inspector(home, [
        server.url,
        "--transport",
        "http",
        ...auth(),
        "--method",
        "tools/call",
        "--tool-name",
        "list_tasks",
        "--tool-arg",
        "project=demo",
      ]),
    );
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent.tasks.map((t) => t.id)).toEqual([taskId]);
  });

  it("HTTP: without the token the Inspector is refused", async () => {
    const run = await inspector(home, [server.url, "--transport", "http", "--method", "tools/list"]);
    expect(run.code).not.toBe(0);
    // A 401 sends MCP clients to OAuth discovery; the Inspector reports that it needs credentials.
    expect(`${run.stdout}\n${run.stderr}`).toMatch(/auth_required|401|Unauthorized/);
  });
});
