#!/usr/bin/env node
import { parseArgs } from "node:util";
import { isUserError, messageOf } from "./core/errors.js";
import { log } from "./log.js";

const HELP = `delegate-mcp — big model plans, small model executes, big model verifies.

Usage:
  delegate-mcp [--root DIR]                    stdio MCP server (what MCP clients start)
  delegate-mcp serve [--root DIR]              the same
  delegate-mcp serve --http [--port N] [--host H] [--root DIR]
                                               Streamable HTTP at http://H:N/mcp (default 127.0.0.1:8765);
                                               a non-loopback --host needs DELEGATE_HTTP_TOKEN
  delegate-mcp report [--project P] [--json]   the savings report (all projects by default); writes LOG.md
  delegate-mcp tasks [--project P]             the task table
  delegate-mcp demo [--keep]                   the whole flow on a throw-away repository (offline without API keys)
  delegate-mcp init [--dry-run]                wire it into this repository for Claude Code: .mcp.json,
                                               CLAUDE.md, .claude/commands/delegate.md, delegate.config.json
  delegate-mcp help | --help | --version

Options:
  --root DIR   the workspace (git repository); default: DELEGATE_ROOT, the client's roots, or the cwd
`;

function out(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** A mistake on the command line: one line on stderr, exit code 2. */
class UsageError extends Error {}

const SEE_HELP = "see delegate-mcp --help";

async function serveStdio(root: string | undefined): Promise<void> {
  if (root !== undefined || process.env.DELEGATE_ROOT) {
    // A client shows a server that dies at start as "failed" with its stderr: say why there, once.
    const { resolveWorkspace } = await import("./store/workspace.js");
    try {
      await resolveWorkspace({ flag: root });
    } catch (err) {
      // Only a root that is not there stops the start; a refused delegate dir (a symlink leading
      // outside) is answered by each tool that writes there, and every other tool still works.
      if (!isUserError(err) || err.field === "workspace") throw err;
      log.warn(messageOf(err));
    }
  }
  const [{ StdioServerTransport }, { createServer }, { MAX_MESSAGE_BYTES, StdinLines }] = await Promise.all([
    import("@modelcontextprotocol/sdk/server/stdio.js"),
    import("./server.js"),
    import("./transports/stdin-lines.js"),
  ]);
  const { server, cleanup } = createServer({ root });
  // The SDK would close the server on one message over 10 MiB: such a message is skipped and
  // answered here instead, and the SDK only ever sees lines within the limit.
  const lines = new StdinLines(({ bytes, id }) => {
    const why = `a message of ${bytes} bytes is over the ${MAX_MESSAGE_BYTES}-byte (10 MiB) limit; it was not read`;
    log.warn(`${why}${id === null ? " (no request id found, so no error response was sent)" : ""}`);
    if (id === null) return;
    void transport
      .send({
        jsonrpc: "2.0",
        id,
        error: { code: -32600, message: `Request too large: ${why}; send less at once.` },
      })
      .catch((err) => log.debug(`could not answer the oversized message: ${messageOf(err)}`));
  });
  process.stdin.pipe(lines);
  const transport = new StdioServerTransport(lines, process.stdout, { maxBufferSize: 2 * MAX_MESSAGE_BYTES });
  transport.onerror = (err) => log.warn(`stdio: ${messageOf(err)}`);
  let closing = false;
  const shutdown = async (why: string, code = 0) => {
    if (closing) return;
    closing = true;
    log.debug(`shutting down: ${why}`);
    const timer = setTimeout(() => process.exit(code), 10_000);
    timer.unref();
    await cleanup().catch((err) => log.error(`cleanup failed: ${messageOf(err)}`));
    process.exit(code);
  };
  // The client closing our stdin is the stdio transport's "disconnect".
  process.stdin.on("end", () => void shutdown("stdin closed"));
  process.stdin.on("close", () => void shutdown("stdin closed"));
  process.stdout.on(
    "error",
    (err) =>
      void shutdown(`stdout: ${messageOf(err)}`, (err as NodeJS.ErrnoException).code === "EPIPE" ? 0 : 1),
  );
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  transport.onclose = () => void shutdown("transport closed");
  await server.connect(transport);
  log.debug("stdio server ready");
}

async function serveHttpCommand(opts: {
  root?: string | undefined;
  port?: string | undefined;
  host?: string | undefined;
}): Promise<void> {
  const port = opts.port === undefined ? 8765 : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port ${opts.port} is not a port number (0-65535).`);
  const { serveHttp } = await import("./transports/http.js");
  const running = await serveHttp({
    port,
    host: opts.host ?? "127.0.0.1",
    root: opts.root,
    env: process.env,
  });
  process.stderr.write(`delegate-mcp: serving MCP at ${running.url}\n`);
  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    log.info(`shutting down: ${why}`);
    const timer = setTimeout(() => process.exit(1), 15_000);
    timer.unref();
    await running.close().catch((err) => log.error(`shutdown failed: ${messageOf(err)}`));
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

async function openWorkspace(root: string | undefined) {
  const [{ resolveWorkspace }, { TaskStore }, { loadConfig }, { recoverOnce }] = await Promise.all([
    import("./store/workspace.js"),
    import("./store/tasks.js"),
    import("./config/load.js"),
    import("./startup-recovery.js"),
  ]);
  const ws = await resolveWorkspace({ flag: root });
  const { config } = await loadConfig(ws.root);
  const store = new TaskStore(ws);
  // The same start-up repair as the server's: a task left running by a dead process reads as interrupted.
  await recoverOnce(store);
  return { ws, store, config };
}

async function reportCommand(
  root: string | undefined,
  project: string | undefined,
  json: boolean,
): Promise<number> {
  // The report's modules load while the workspace opens.
  const [{ ws, store, config }, { projectReport }, { renderReportTable }, { renderBars }] = await Promise.all(
    [
      openWorkspace(root),
      import("./store/report.js"),
      import("./core/report-render.js"),
      import("./core/report-chart.js"),
    ],
  );
  const projects = project ? [project] : await store.projects();
  if (projects.length === 0) {
    process.stderr.write(`No projects in ${ws.dir} yet; create a mini-task first.\n`);
    if (json) out("[]");
    return 0;
  }
  const reports = [];
  for (const p of projects) {
    let built: Awaited<ReturnType<typeof projectReport>>;
    try {
      built = await projectReport(ws, store, config, p, process.env);
    } catch (err) {
      process.stderr.write(`delegate-mcp: ${messageOf(err)}\n`);
      return 2;
    }
    reports.push(built.report);
    if (!json)
      out(
        `${renderReportTable(built.report)}\n\n${renderBars(built.report)}\n(written to ${built.logRel})\n`,
      );
  }
  if (json) out(JSON.stringify(project ? reports[0] : reports, null, 2));
  return 0;
}

async function tasksCommand(root: string | undefined, project: string | undefined): Promise<number> {
  const { store } = await openWorkspace(root);
  const [{ renderTaskTable }, { attemptsCost }] = await Promise.all([
    import("./core/report-render.js"),
    import("./tools/task-views.js"),
  ]);
  const { tasks, warnings } = await store.list(project ? { project } : {});
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  if (tasks.length === 0) {
    out(project ? `No tasks in project ${project}.` : "No tasks yet.");
    return 0;
  }
  out(
    renderTaskTable(
      tasks.map((t) => ({
        id: t.id,
        status: t.status,
        model: t.attempts[t.attempts.length - 1]?.model ?? t.estimate.model,
        attempts: t.attempts.length,
        cost_usd: attemptsCost(t),
      })),
    ),
  );
  return 0;
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const option = /'(-[^']*)'/.exec(messageOf(err))?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option)
      throw new UsageError(`unknown option ${option}; ${SEE_HELP}`);
    throw new UsageError(`${messageOf(err).split(". ")[0]!.replace(/\.$/, "")}; ${SEE_HELP}`);
  }
}

const OPTIONS = {
  root: { type: "string" },
  http: { type: "boolean" },
  port: { type: "string" },
  host: { type: "string" },
  project: { type: "string" },
  json: { type: "boolean" },
  keep: { type: "boolean" },
  attempt: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
  "dry-run": { type: "boolean" },
} as const;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv);
  if (values.help || positionals[0] === "help") {
    out(HELP);
    return 0;
  }
  if (values.version) {
    const { SERVER_VERSION } = await import("./server.js");
    out(SERVER_VERSION);
    return 0;
  }
  const command = positionals[0] ?? "serve";
  switch (command) {
    case "serve":
      if (values.http) {
        await serveHttpCommand({ root: values.root, port: values.port, host: values.host });
        return -1;
      }
      await serveStdio(values.root);
      return -1;
    case "report":
      return reportCommand(values.root, values.project, values.json === true);
    case "tasks":
      return tasksCommand(values.root, values.project);
    case "demo": {
      const { runDemo } = await import("./demo/run.js");
      return runDemo({ env: process.env, print: out, keep: values.keep === true });
    }
    case "executor-tools": {
      // Started by an agent CLI (claude -p) for one attempt, never by a person.
      if (!values.attempt) throw new Error("executor-tools needs --attempt <file>.");
      const { serveExecutorTools } = await import("./transports/executor-tools.js");
      await serveExecutorTools(values.attempt);
      return -1;
    }
    case "init": {
      const { initCommand } = await import("./init/command.js");
      return initCommand({ root: values.root, dryRun: values["dry-run"] === true, print: out });
    }
    default:
      throw new UsageError(`unknown command "${command}"; ${SEE_HELP}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`delegate-mcp: ${messageOf(err)}\n`);
    process.exitCode = 2;
  },
);
