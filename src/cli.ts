#!/usr/bin/env node
import { parseArgs } from "node:util";
import { messageOf } from "./core/errors.js";
import { log } from "./log.js";

const HELP = `delegate-mcp — big model plans, small model executes, big model verifies.

Usage:
  delegate-mcp [--root DIR]                    stdio MCP server (what MCP clients start)
  delegate-mcp serve [--root DIR]              the same
  delegate-mcp --help | --version

Options:
  --root DIR   the workspace (git repository); default: DELEGATE_ROOT, the client's roots, or the cwd
`;

function out(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

async function serveStdio(root: string | undefined): Promise<void> {
  const [{ StdioServerTransport }, { createServer }] = await Promise.all([
    import("@modelcontextprotocol/sdk/server/stdio.js"),
    import("./server.js"),
  ]);
  const { server, cleanup } = createServer({ root });
  const transport = new StdioServerTransport();
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

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      root: { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
  if (values.help) {
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
      await serveStdio(values.root);
      return -1;
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${HELP}`);
      return 2;
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
