/**
 * The parent half of a CLI executor's tools. The agent CLI (claude -p) starts the
 * `delegate-mcp executor-tools` subcommand (transports/executor-tools.ts) as its one MCP server; that subcommand only forwards each
 * call over a private unix socket to this bridge, which runs it on the attempt's own ExecutorTools.
 * So the CLI gets exactly the in-process loop's tools, scope rules and validation runs, and the
 * subcommand holds no authority of its own: without this attempt's token it can do nothing.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messageOf } from "../core/errors.js";
import type { ToolCall } from "../providers/types.js";
import type { ToolReply } from "./scope.js";

/**
 * The MCP server name the CLI sees; its tools are named mcp__d__<tool>. One letter: every request
 * the CLI makes carries the name once per tool (a longer name cost 9 tokens a request).
 */
export const TOOL_SERVER_NAME = "d";
/** What Claude Code puts before each of our tools' names. */
export const TOOL_NAME_PREFIX = `mcp__${TOOL_SERVER_NAME}__`;

/** write_file takes up to 1 MB; JSON escaping can double it. Longer lines are not ours. */
const MAX_LINE_BYTES = 4 * 1024 * 1024;

/** What the subcommand reads from --attempt: where to forward, and the proof it may. */
export interface AttemptFile {
  socket: string;
  token: string;
}

export interface BridgeRequest {
  token: string;
  id: number;
  name: string;
  arguments: Record<string, unknown>;
}

export interface BridgeReply {
  id: number;
  content: string;
  isError: boolean;
}

export interface ToolCaller {
  call(call: ToolCall): Promise<ToolReply>;
}

export interface ToolBridgeOptions {
  /** Before each call runs (calls run one at a time, in arrival order, as in the loop). */
  onCallStart?: (name: string) => void;
  onCallEnd?: (name: string) => void;
}

export interface ToolBridge {
  /** A private directory (0700) holding the socket, the attempt file and anything the CLI run needs. */
  dir: string;
  attemptFile: string;
  /** Calls forwarded so far. */
  readonly calls: number;
  close(): Promise<void>;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function openToolBridge(tools: ToolCaller, opts: ToolBridgeOptions = {}): Promise<ToolBridge> {
  const dir = await mkdtemp(join(tmpdir(), "delegate-exec-"));
  await chmod(dir, 0o700);
  const socket = join(dir, "tools.sock");
  const token = randomBytes(32).toString("hex");
  const attemptFile = join(dir, "attempt.json");
  await writeFile(attemptFile, JSON.stringify({ socket, token } satisfies AttemptFile), { mode: 0o600 });

  let calls = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const sockets = new Set<Socket>();
  const run = (req: BridgeRequest): Promise<BridgeReply> => {
    const next = queue.then(async () => {
      calls++;
      opts.onCallStart?.(req.name);
      try {
        const reply = await tools.call({ id: `bridge_${req.id}`, name: req.name, arguments: req.arguments });
        return { id: req.id, content: reply.content, isError: reply.isError };
      } catch (err) {
        return { id: req.id, content: `${req.name} failed: ${messageOf(err)}`, isError: true };
      } finally {
        opts.onCallEnd?.(req.name);
      }
    });
    queue = next.catch(() => undefined);
    return next;
  };

  const server: Server = createServer((conn) => {
    sockets.add(conn);
    conn.on("close", () => sockets.delete(conn));
    conn.on("error", () => conn.destroy());
    let buffered = "";
    conn.setEncoding("utf8");
    conn.on("data", (chunk: string) => {
      buffered += chunk;
      if (Buffer.byteLength(buffered) > MAX_LINE_BYTES && !buffered.includes("\n")) {
        conn.destroy();
        return;
      }
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
        let req: BridgeRequest;
        try {
          req = JSON.parse(line) as BridgeRequest;
        } catch {
          conn.destroy();
          return;
        }
        if (typeof req?.token !== "string" || !sameToken(req.token, token) || typeof req.name !== "string") {
          conn.destroy();
          return;
        }
        const args =
          req.arguments && typeof req.arguments === "object" && !Array.isArray(req.arguments)
            ? req.arguments
            : {};
        void run({ ...req, arguments: args }).then((reply) => {
          if (!conn.destroyed) conn.write(`${JSON.stringify(reply)}\n`);
        });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, () => resolve());
  });

  return {
    dir,
    attemptFile,
    get calls() {
      return calls;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // A call still running (a validation) finishes before the directory goes.
      await queue;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
