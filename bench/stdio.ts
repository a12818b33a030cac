/**
 * A bare JSON-RPC client over a child's stdio, newline-delimited as MCP's stdio transport is. Used
 * where the SDK client's own start-up would blur the figure: spawn-to-initialize and idle memory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";

export const PROTOCOL_VERSION = "2025-06-18";

export interface RawServer {
  child: ChildProcess;
  pid: number;
  request(method: string, params?: Record<string, unknown>): Promise<unknown>;
  notify(method: string, params?: Record<string, unknown>): void;
  /** Close stdin (the stdio "disconnect"), then SIGKILL if the child has not exited within 3 s. */
  close(): Promise<void>;
  stderr(): string;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

export function spawnRaw(args: string[], opts: { cwd: string; env: Record<string, string> }): RawServer {
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let buffer = "";
  let stderr = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const send = (message: Record<string, unknown>) =>
    child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);

  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout!.on("data", (d: Buffer) => {
    buffer += d.toString();
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) onMessage(JSON.parse(line) as Record<string, unknown>);
    }
  });
  child.once("exit", (code, signal) => {
    for (const p of pending.values())
      p.reject(new Error(`server exited (${signal ?? code}) before answering: ${stderr.slice(-500)}`));
    pending.clear();
  });

  function onMessage(msg: Record<string, unknown>): void {
    if (typeof msg.method === "string") {
      // A request from the server (e.g. roots/list): answer so it never waits on us.
      if (msg.id !== undefined) {
        send(
          msg.method === "roots/list"
            ? { id: msg.id, result: { roots: [] } }
            : { id: msg.id, error: { code: -32601, message: "not supported by the bench client" } },
        );
      }
      return;
    }
    const p = pending.get(msg.id as number);
    if (!p) return;
    pending.delete(msg.id as number);
    if (msg.error) p.reject(new Error(`JSON-RPC error: ${JSON.stringify(msg.error)}`));
    else p.resolve(msg.result);
  }

  return {
    child,
    pid: child.pid!,
    request(method, params = {}) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        send({ id, method, params });
      });
    },
    notify(method, params = {}) {
      send({ method, params });
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin!.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
    stderr: () => stderr,
  };
}

export function initializeParams(): Record<string, unknown> {
  return {
    protocolVersion: PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: "delegate-bench", version: "1.0.0" },
  };
}

/** Resident set size of a live process, from /proc (Linux). */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

/**
 * CPU time (user + system) a live process has used so far, from /proc (Linux; clock-tick
 * resolution); with `children`, also that of its children it has waited for (git, validation).
 */
export function cpuMs(pid: number, opts: { children?: boolean } = {}): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name: utime, stime, cutime, cstime are fields 14 to 17.
  const f = stat
    .slice(stat.lastIndexOf(")") + 2)
    .split(" ")
    .map(Number);
  const ticks = f[11]! + f[12]! + (opts.children ? f[13]! + f[14]! : 0);
  return (ticks * 1000) / CLOCK_TICKS_PER_S;
}

/** USER_HZ: 100 on every mainstream Linux build. */
const CLOCK_TICKS_PER_S = 100;
