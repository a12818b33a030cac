/**
 * Starts git's child processes from a worker thread instead of the server's main thread.
 *
 * libuv starts every child by forking the whole node process, and the thread that calls spawn
 * waits until the child has exec'd: 7–13 ms per child on an idle 2-core machine, about 30 ms on a
 * loaded one, and the main thread's largest cost in parallel dispatch (profiled). While it waits,
 * no model answer, tool call or MCP request is handled. Forked from a worker, the wait falls on the
 * worker: in a probe of 100 forks, a 1 ms timer on the main thread ran 694 times instead of 143
 * (1,231 with no forks at all).
 *
 * The worker runs plain child_process.spawn with the caller's file, arguments, cwd and environment,
 * keeps stdout and stderr up to the caller's bounds, writes the input, and kills the child (or its
 * process group) at the timeout. It holds no state of its own: a request is answered once its child
 * has closed. The worker is started on first use, keeps the process alive only while a request is
 * pending, and is started again if it ever dies (pending requests then fail).
 */
import { Worker } from "node:worker_threads";

export interface ChildRequest {
  file: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Written to stdin, then closed; without it stdin is /dev/null. */
  input?: string | Buffer;
  timeoutMs: number;
  /** Keep only the first N bytes of stdout (the rest is counted). */
  maxStdoutBytes: number;
  /** Keep stderr chunks until this many bytes have been kept. */
  maxStderrBytes: number;
  /** Start the child in its own process group and kill the whole group at the timeout. */
  group?: boolean;
}

export interface ChildResult {
  code: number | null;
  signal: string | null;
  stdout: Buffer;
  stdoutBytes: number;
  stderr: Buffer;
  timedOut: boolean;
  /** The child could not be started (ENOENT, EACCES, …). */
  error?: { code?: string; message: string };
}

/** The worker's code: CommonJS, node builtins only, so it runs the same from src (tests) and dist. */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { spawn } = require("node:child_process");
parentPort.on("message", ({ id, req }) => {
  let child;
  const answer = (result) => parentPort.postMessage({ id, result });
  try {
    child = spawn(req.file, req.args, {
      cwd: req.cwd,
      env: req.env,
      stdio: [req.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      detached: req.group === true,
      windowsHide: true,
    });
  } catch (err) {
    answer({ code: null, signal: null, stdout: new Uint8Array(0), stdoutBytes: 0, stderr: new Uint8Array(0), timedOut: false, error: { code: err && err.code, message: String(err && err.message || err) } });
    return;
  }
  const out = [];
  let kept = 0;
  let stdoutBytes = 0;
  const err = [];
  let errBytes = 0;
  let timedOut = false;
  let failed;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (req.group && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      else child.kill("SIGKILL");
    } catch {
      child.kill("SIGKILL");
    }
  }, req.timeoutMs);
  child.stdout.on("data", (chunk) => {
    stdoutBytes += chunk.length;
    if (kept < req.maxStdoutBytes) {
      const part = kept + chunk.length > req.maxStdoutBytes ? chunk.subarray(0, req.maxStdoutBytes - kept) : chunk;
      out.push(part);
      kept += part.length;
    }
  });
  child.stderr.on("data", (chunk) => {
    if (errBytes < req.maxStderrBytes) {
      err.push(chunk);
      errBytes += chunk.length;
    }
  });
  child.on("error", (e) => {
    failed = { code: e.code, message: String(e.message) };
  });
  child.on("close", (code, signal) => {
    clearTimeout(timer);
    answer({ code, signal, stdout: Buffer.concat(out), stdoutBytes, stderr: Buffer.concat(err), timedOut, error: failed });
  });
  if (req.input !== undefined && child.stdin) {
    child.stdin.on("error", () => {});
    child.stdin.end(req.input);
  }
});
`;

type Pending = { resolve: (r: ChildResult) => void; reject: (e: Error) => void };

let worker: Worker | undefined;
const pending = new Map<number, Pending>();
let nextId = 1;

/** Buffers cross the thread boundary as plain Uint8Arrays. */
const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function failAll(why: Error): void {
  for (const p of pending.values()) p.reject(why);
  pending.clear();
}

function started(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, { eval: true, name: "delegate-mcp children" });
  w.unref();
  w.on("message", ({ id, result }: { id: number; result: ChildResult }) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (pending.size === 0) w.unref();
    p.resolve({ ...result, stdout: asBuffer(result.stdout), stderr: asBuffer(result.stderr) });
  });
  const gone = (why: Error) => {
    if (worker === w) worker = undefined;
    failAll(why);
  };
  w.on("error", (err) => gone(new Error(`the thread that starts child processes failed: ${err.message}`)));
  w.on("exit", (code) => gone(new Error(`the thread that starts child processes exited (${code})`)));
  worker = w;
  return w;
}

/** Called with each child's file as it is requested: how tests count the children an operation starts. */
export const onChildStart = new Set<(file: string) => void>();

/** Runs one child process from the worker thread; resolves once it has closed. */
export function runChild(req: ChildRequest): Promise<ChildResult> {
  for (const listener of onChildStart) listener(req.file);
  return new Promise((resolve, reject) => {
    const w = started();
    const id = nextId++;
    pending.set(id, { resolve, reject });
    // A pending child keeps the process alive, as a child spawned here would.
    w.ref();
    w.postMessage({ id, req });
  });
}

/** Ends the worker thread; children it started run on, their requests fail. Started again on next use. */
export async function stopChildThread(): Promise<void> {
  const w = worker;
  if (!w) return;
  await w.terminate();
}
