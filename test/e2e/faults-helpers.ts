import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { FakeReply, FakeRequest } from "../fakes/llm-server.js";
import type { DispatchEnv } from "./dispatch-helpers.js";
import { CLI, cleanEnv, git, sleep, textOf } from "./harness.js";

export type Result = {
  task_id: string;
  status: string;
  attempt: number;
  validation?: { passed: boolean; ran: number };
  usage?: { input_tokens: number; output_tokens: number; cost_usd: number | null; model: string };
  report?: string;
};

export type LedgerLine = {
  task?: string;
  project: string;
  input_tokens: number;
  output_tokens: number;
  error?: string;
  note?: string;
};

export async function dispatchOne(env: DispatchEnv, id: string): Promise<Result> {
  const r = await env.server.call("dispatch_to_small_model", { task_id: id });
  expect(r.isError, textOf(r)).toBeFalsy();
  return (r.structuredContent as { results: Result[] }).results[0]!;
}

/** `git worktree list --porcelain` lines that say something is left over: locked or prunable. */
export function worktreeLeftovers(repo: string): string[] {
  return git(repo, "worktree", "list", "--porcelain")
    .split("\n")
    .filter((l) => /^(locked|prunable)\b/.test(l));
}

/** The stored task JSON, parsed (a torn or partial file fails the test). */
export function taskFile(
  repo: string,
  id: string,
): {
  status: string;
  attempts: { status: string; error?: string; worktree?: string; branch?: string }[];
} {
  const [project, name] = id.split("/");
  return JSON.parse(readFileSync(join(repo, "mini-projects", project!, `${name}.json`), "utf8"));
}

/** Every line of the ledger, parsed; a line that does not parse fails the test. */
export function ledgerLines(repo: string): LedgerLine[] {
  const path = `${repo}/mini-projects/ledger.jsonl`;
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as LedgerLine);
}

/** `fault` for the first request that reaches this step, `reply` for every later one (the SDK's retry). */
export function faultFirst(fault: FakeReply, reply: FakeReply): (req: FakeRequest) => FakeReply {
  let sent = false;
  return () => {
    if (sent) return reply;
    sent = true;
    return fault;
  };
}

/** Whether a process with this pid (or a process group with this id, when `group`) is running (zombies excluded). */
export function alive(id: number, group = false): boolean {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = fields[0];
    if (state === "Z" || state === "X") continue;
    if (group ? Number(fields[2]) === id : Number(entry) === id) return true;
  }
  return false;
}

/**
 * The built server over stdio with a hand-rolled JSON-RPC client, so a test can close stdin,
 * break stdout or SIGKILL the process at a moment of its choosing.
 */
export class RawServer {
  readonly child: ChildProcessWithoutNullStreams;
  stderr = "";
  private buf = "";
  private nextId = 1;
  private readonly waiting = new Map<number, (msg: Record<string, unknown>) => void>();
  readonly notifications: Record<string, unknown>[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(root: string, opts: { env?: Record<string, string>; wrap?: string[] } = {}) {
    const argv = [process.execPath, CLI, "--root", root];
    const [cmd, ...args] = [...(opts.wrap ?? []), ...argv];
    this.child = spawn(cmd!, args, {
      cwd: root,
      env: cleanEnv({ HOME: root, ...(opts.env ?? {}) }),
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.exited = new Promise((resolve) =>
      this.child.once("close", (code, signal) => resolve({ code, signal })),
    );
    this.child.stderr.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.child.stdout.on("data", (d: Buffer) => {
      this.buf += d.toString();
      for (let nl = this.buf.indexOf("\n"); nl !== -1; nl = this.buf.indexOf("\n")) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.trim() === "") continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (typeof msg.id === "number" && this.waiting.has(msg.id)) {
          this.waiting.get(msg.id)!(msg);
          this.waiting.delete(msg.id);
        } else this.notifications.push(msg);
      }
    });
    // Writes after the child is gone must not crash the test process.
    this.child.stdin.on("error", () => {});
    this.child.stdout.on("error", () => {});
  }

  send(msg: Record<string, unknown>): void {
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", ...msg })}\n`);
  }

  request(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const reply = new Promise<Record<string, unknown>>((resolve) => this.waiting.set(id, resolve));
    this.send({ id, method, params });
    return reply;
  }

  async initialize(): Promise<void> {
    await this.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "faults-e2e", version: "1.0.0" },
    });
    this.send({ method: "notifications/initialized" });
  }

  /** tools/call; resolves to the CallToolResult. */
  async call(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const reply = await this.request("tools/call", { name, arguments: args });
    if (reply.error) throw new Error(`tools/call ${name}: ${JSON.stringify(reply.error)}`);
    return reply.result as Record<string, unknown>;
  }

  /** Exits within `ms`, or fails the test (and kills it). */
  async waitExit(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timer = sleep(ms).then(() => "timeout" as const);
    const r = await Promise.race([this.exited, timer]);
    if (r === "timeout") {
      this.child.kill("SIGKILL");
      throw new Error(`the server did not exit within ${ms} ms; stderr:\n${this.stderr}`);
    }
    return r;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}
