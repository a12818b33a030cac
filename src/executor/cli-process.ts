/**
 * One agent CLI run as a child process: its own process group (so a kill reaches the MCP server
 * and anything else it started), stdin closed, stdout read line by line, stderr's tail kept for
 * error messages, killed on cancel, on a stop asked by the caller, or when it goes quiet too long.
 */
import { createInterface } from "node:readline";
import { execa } from "execa";
import { groupAlive, killGroup, trackGroup, untrackGroup } from "../validation/process-group.js";

const KILL_GRACE_MS = 2000;
/** After SIGKILL the kernel still has to tear the group down; the run is over only when it has. */
const GONE_WAIT_MS = 5000;
const STDERR_KEPT = 4000;

export type CliStop = { why: "cancelled" | "timeout" | "stopped"; reason: string };

export interface CliProcessOptions {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Killed when no line arrives (and the watchdog is not paused) for this long. */
  idleTimeoutMs: number;
  /** Each stdout line; return a reason to stop the run (the group is killed). */
  onLine: (line: string) => string | undefined;
}

export interface CliProcessResult {
  exitCode: number | null;
  exitSignal: string | null;
  stderrTail: string;
  /** Set when the server ended the run rather than the CLI itself. */
  stop?: CliStop;
  /** The command could not be started (ENOENT, EACCES). */
  spawnError?: string;
}

/** Pause while a tool call runs (a validation may legitimately take minutes). */
export interface Watchdog {
  pause(): void;
  resume(): void;
}

export interface CliProcess {
  done: Promise<CliProcessResult>;
  watchdog: Watchdog;
  /** End the run now (the whole group is killed); `done` then carries this reason. */
  stop(reason: string): void;
}

export function startCli(opts: CliProcessOptions): CliProcess {
  const child = execa(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: false,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
    reject: false,
    buffer: false,
    // We kill the whole group ourselves; execa's own cleanup would signal the leader only.
    cleanup: false,
  });
  // execa's promise settles on pipe EOF, which a leftover grandchild could hold: never awaited for timing.
  child.catch(() => undefined);
  const pgid = child.pid;
  if (pgid !== undefined) trackGroup(pgid);

  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEPT);
  });
  child.stderr?.on("error", () => {});
  child.stdout?.on("error", () => {});

  let stop: CliStop | undefined;
  let paused = 0;
  let timer: NodeJS.Timeout | undefined;
  let kill: (s: CliStop) => void = () => {};
  const arm = () => {
    clearTimeout(timer);
    if (paused > 0) return;
    timer = setTimeout(
      () =>
        kill({
          why: "timeout",
          reason: `the CLI sent nothing for ${Math.round(opts.idleTimeoutMs / 1000)} s (request_timeout_s) and was stopped.`,
        }),
      opts.idleTimeoutMs,
    );
  };

  const done = new Promise<CliProcessResult>((resolve) => {
    let finished = false;
    let exitCode: number | null = null;
    let exitSignal: string | null = null;
    let spawnError: string | undefined;
    const finish = async () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      if (pgid !== undefined) {
        await killGroup(pgid, KILL_GRACE_MS);
        for (const end = Date.now() + GONE_WAIT_MS; groupAlive(pgid) && Date.now() < end; )
          await new Promise((r) => setTimeout(r, 20));
        untrackGroup(pgid);
      }
      lines.close();
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({
        exitCode,
        exitSignal,
        stderrTail: stderr.trim(),
        ...(stop ? { stop } : {}),
        ...(spawnError ? { spawnError } : {}),
      });
    };
    kill = (s: CliStop) => {
      stop ??= s;
      void finish();
    };
    const onAbort = () => {
      const r = opts.signal?.reason;
      kill({
        why: "cancelled",
        reason: r instanceof Error && r.name !== "AbortError" ? r.message : "cancelled by the client",
      });
    };
    const lines = createInterface({ input: child.stdout!, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on("line", (line) => {
      if (finished) return;
      arm();
      const reason = opts.onLine(line);
      if (reason) kill({ why: "stopped", reason });
    });
    child.once("exit", (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      // Let the last lines already in the pipe arrive before the group is cleared.
      if (child.stdout && !child.stdout.readableEnded) {
        const t = setTimeout(() => void finish(), 1000);
        child.stdout.once("end", () => {
          clearTimeout(t);
          setImmediate(() => void finish());
        });
      } else setImmediate(() => void finish());
    });
    child.once("error", (err) => {
      spawnError = (err as NodeJS.ErrnoException).code ?? err.message;
      void finish();
    });
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
    arm();
  });

  return {
    done,
    stop: (reason: string) => kill({ why: "stopped", reason }),
    watchdog: {
      pause() {
        paused++;
        clearTimeout(timer);
      },
      resume() {
        paused = Math.max(0, paused - 1);
        arm();
      },
    },
  };
}
