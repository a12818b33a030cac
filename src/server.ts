import { readFileSync } from "node:fs";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  RootsListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { LoadedConfig } from "./config/load.js";
import type { Config } from "./config/schema.js";
import { isUserError, messageOf, shown } from "./core/errors.js";
import { describeIssues } from "./core/zod-errors.js";
import { log } from "./log.js";
import { registerPrompts } from "./prompts.js";
import { registerResources } from "./resources.js";
import { recoverOnce } from "./startup-recovery.js";
import type { TaskStore } from "./store/tasks.js";
import { resolveWorkspace, type Workspace } from "./store/workspace.js";
import { toolProgress } from "./tool-progress.js";
import {
  jsonSchemaOf,
  type ModelFactory,
  type ServerState,
  type ToolContext,
  type ToolDefinition,
  toolResponse,
} from "./tools/define.js";

export const SERVER_NAME = "delegate-mcp";
export const SERVER_VERSION = "0.1.0";

export interface ServerOptions {
  /** --root: wins over everything else. */
  root?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Executor model factory; default: the real providers. */
  createModel?: ModelFactory;
}

export interface DelegateServer {
  server: McpServer;
  state: ServerState;
  /** Cancel running work, wait for it to record itself, and close. */
  cleanup(): Promise<void>;
}

// One TaskStore per workspace for the whole process: its per-task write queue must be shared by
// every session (the HTTP transport runs one server per session).
const stores = new Map<string, TaskStore>();

// Tool modules (zod schemas, handlers) load on the first tools/call: a start only answers
// initialize and tools/list, and tools/list comes precomputed from the build.
type ToolsModule = typeof import("./tools/index.js");
let toolsModule: Promise<ToolsModule> | undefined;
function loadTools(): Promise<ToolsModule> {
  toolsModule ??= import("./tools/index.js");
  return toolsModule;
}

/**
 * What tools/list answers, from the tool definitions. `npm run build` writes it to
 * dist/tools/listed.json (scripts/postbuild.mjs); a test keeps that file equal to this.
 */
export function computeToolList(tools: ToolsModule["TOOLS"]) {
  return tools.map((t) => ({
    name: t.name,
    description: t.description,
    inputSchema: jsonSchemaOf(t.input, "input"),
    outputSchema: jsonSchemaOf(t.output, "output"),
    ...(t.annotations ? { annotations: t.annotations } : {}),
  }));
}

type ToolList = ReturnType<typeof computeToolList>;
let cachedList: Promise<ToolList> | undefined;

function toolList(): Promise<ToolList> {
  cachedList ??= (async () => {
    try {
      const built = JSON.parse(readFileSync(new URL("./tools/listed.json", import.meta.url), "utf8"));
      if (Array.isArray(built) && built.length > 0) return built as ToolList;
    } catch {
      // Not built (running from src) or unreadable: compute it.
    }
    return computeToolList((await loadTools()).TOOLS);
  })();
  return cachedList;
}

function errorResult(text: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text }] };
}

/** The call's result, or its error as the caller should read it. */
async function answerCall(
  tool: ToolDefinition,
  handle: () => ReturnType<ToolDefinition["handle"]>,
): Promise<CallToolResult> {
  try {
    const { structured, text } = toolResponse(await handle());
    return {
      content: [{ type: "text", text }],
      structuredContent: tool.output.parse(structured) as Record<string, unknown>,
    };
  } catch (err) {
    if (isUserError(err)) return errorResult(err.message);
    log.error(`${tool.name} failed`, { error: messageOf(err), stack: (err as Error)?.stack });
    return errorResult(
      `${tool.name} failed with an internal error: ${messageOf(err)}. This is a bug in delegate-mcp; please report it.`,
    );
  }
}

function createState(env: NodeJS.ProcessEnv, createModel?: ModelFactory): ServerState & { abortAll(): void } {
  const running = new Map<Promise<unknown>, AbortController>();
  return {
    env,
    ...(createModel ? { createModel } : {}),
    track(work, abort) {
      const settled = work.finally(() => running.delete(settled));
      running.set(settled, abort);
      return settled as typeof work;
    },
    busy() {
      return running.size > 0;
    },
    async drain() {
      while (running.size) await Promise.allSettled([...running.keys()]);
    },
    abortAll() {
      for (const abort of running.values()) abort.abort(new Error("server shutting down"));
    },
  };
}

/** The MCP server: tools, resources and prompts over any transport. */
export function createServer(opts: ServerOptions = {}): DelegateServer {
  const env = opts.env ?? process.env;
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    {
      capabilities: { tools: {}, resources: {}, prompts: {}, logging: {} },
      instructions:
        "Delegate well-specified mini-tasks to a cheap model: create_mini_task → dispatch_to_small_model → review_task → accept_task; log_tokens and savings_report account for the cost.",
    },
  );
  const state = createState(env, opts.createModel);
  let rootsCache: Promise<string[] | undefined> | undefined;

  server.server.setNotificationHandler(RootsListChangedNotificationSchema, async () => {
    rootsCache = undefined;
  });

  const listRoots = (): Promise<string[] | undefined> => {
    if (!server.server.getClientCapabilities()?.roots) return Promise.resolve(undefined);
    rootsCache ??= server.server
      .listRoots(undefined, { timeout: 5000 })
      .then((r) => r.roots.map((x) => x.uri))
      .catch((err) => {
        log.warn(`roots/list failed: ${messageOf(err)}; using the working directory`);
        rootsCache = undefined;
        return undefined;
      });
    return rootsCache;
  };

  const workspace = (): Promise<Workspace> =>
    resolveWorkspace({ flag: opts.root, env, listRoots, cwd: opts.cwd ?? process.cwd() });

  const storeFor = async (ws: Workspace): Promise<TaskStore> => {
    const key = `${ws.root}\0${ws.dirRel}`;
    let store = stores.get(key);
    if (!store) {
      const { TaskStore } = await import("./store/tasks.js");
      store = stores.get(key) ?? new TaskStore(ws);
      stores.set(key, store);
    }
    return store;
  };

  let tools: Map<string, ToolDefinition> | undefined;
  const toolNamed = async (name: string): Promise<ToolDefinition | undefined> => {
    tools ??= new Map((await loadTools()).TOOLS.map((t) => [t.name, t as unknown as ToolDefinition]));
    return tools.get(name);
  };

  server.server.registerCapabilities({ tools: { listChanged: false } });
  server.server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: (await toolList()) as never,
  }));
  server.server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
    const tool = await toolNamed(req.params.name);
    if (!tool)
      return errorResult(`Unknown tool "${shown(req.params.name, 60)}"; call tools/list for the names.`);
    const parsed = tool.input.safeParse(req.params.arguments ?? {});
    if (!parsed.success) return errorResult(describeIssues(parsed.error.issues));

    let ws: Promise<Workspace> | undefined;
    let loaded: Promise<LoadedConfig> | undefined;
    const progress = toolProgress(extra);
    const ctx: ToolContext = {
      workspace: () => {
        ws ??= workspace();
        return ws;
      },
      configFile: () => {
        loaded ??= (async () => {
          const { loadConfig } = await import("./config/load.js");
          return loadConfig((await ctx.workspace()).root, env);
        })();
        return loaded;
      },
      config: async (): Promise<Config> => (await ctx.configFile()).config,
      tasks: async () => {
        const store = await storeFor(await ctx.workspace());
        await recoverOnce(store);
        return store;
      },
      signal: extra.signal,
      progress: progress.send,
      server: state,
    };
    const answer = await answerCall(tool, () => tool.handle(parsed.data, ctx));
    await progress.delivered();
    return answer;
  });

  registerResources(server, { workspace, storeFor });
  registerPrompts(server);

  return {
    server,
    state,
    async cleanup() {
      state.abortAll();
      await state.drain();
      await server.close().catch(() => {});
    },
  };
}
