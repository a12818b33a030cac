/**
 * Runs validation commands: each line by bash (started with execa), in its own process group, with
 * a deadline, a bounded interleaved capture of stdout+stderr, and a scrubbed environment. POSIX only.
 *
 * Guarantees: a call returns at most ~1 s after its deadline even when a grandchild holds the
 * output pipe open; no process of the command's group survives the call (processes that start a
 * session of their own, e.g. with `setsid`, are out of reach); stdin is closed and the server's
 * stdout (the MCP channel) is never inherited.
 */
import { statSync } from "node:fs";
import { execa } from "execa";
import { messageOf, UserError } from "../core/errors.js";
import { log } from "../log.js";
import { scrubEnv } from "./env.js";
import { type OutputExpectation, parseExpectOutput } from "./expect.js";
import { type CapturedOutput, OutputCapture } from "./output.js";
import { killGroup, trackGroup, untrackGroup } from "./process-group.js";

export interface ValidationCommand {
  /** One shell line, run by `bash -c`. */
  run: string;
  /** Exit code that counts as success; default 0. */
  expect_exit?: number;
  /**
   * A substring, or `/regex/flags`, the output must contain. Checked against the kept head and
   * tail (what the caller sees), so text only in a dropped middle does not count.
   */
  expect_output?: string;
  /** Seconds before the command's process group is killed; default 60, clamped to the ceiling. */
  timeout_s?: number;
}

export interface CommandResult {
  run: string;
  passed: boolean;
  /** null when the command did not exit by itself with a code (killed, timed out, not run). */
  exit_code: number | null;
  timed_out: boolean;
  duration_ms: number;
  /** stdout and stderr interleaved, head + tail within the byte budget, valid UTF-8. */
  output: string;
  skipped?: boolean;
  /** Why the command did not pass (or was not run), in one sentence. */
  error?: string;
}

export interface RunValidationOptions {
  cwd: string;
  /** Base environment before scrubbing; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** More variable names to remove from the child's environment (e.g. models' api_key_env). */
  scrubNames?: string[];
  /** Timeout for commands without timeout_s; default 60. */
  defaultTimeoutS?: number;
  /** Larger timeouts are clamped to this, silently; default 600. */
  timeoutCeilingS?: number;
  /** Output bytes kept per command (head + tail); default 8192. */
  outputBytes?: number;
  /** Run every command even after one fails; default false (stop at the first failure). */
  continueOnFailure?: boolean;
  /** Aborting kills the running command's group; the commands after it are reported skipped. */
  signal?: AbortSignal;
  /** Called before and after each command that runs (not for skipped ones). */
  onProgress?: (event: {
    index: number;
    total: number;
    run: string;
    phase: "start" | "end";
    result?: CommandResult;
  }) => void;
}

export interface ValidationRun {
  passed: boolean;
  results: CommandResult[];
}

export const DEFAULT_TIMEOUT_S = 60;
export const DEFAULT_TIMEOUT_CEILING_S = 600;
export const DEFAULT_OUTPUT_BYTES = 8192;
/** Between SIGTERM and SIGKILL to the group. */
const KILL_GRACE_MS = 500;
/** How long output still in the pipes may take to arrive once the group is done or dead. */
const DRAIN_MS = 250;

const CANCELLED = "cancelled";
/** Linux refuses a single argument longer than this (MAX_ARG_STRLEN), before bash even starts. */
const MAX_ARG_BYTES = 128 * 1024;

interface PreparedCommand {
  run: string;
  timeoutMs: number;
  expectExit: number;
  expectation: OutputExpectation | undefined;
}

/**
 * Runs `commands` in order in `opts.cwd`. Stops at the first failure unless
 * `continueOnFailure`; commands not run come back with `skipped: true`. `passed` is true only when
 * every command ran and passed. Throws a UserError, before running anything, for an invalid
 * command (bad regex, timeout, exit code) or a missing working directory.
 */
export async function runValidation(
  commands: ValidationCommand[],
  opts: RunValidationOptions,
): Promise<ValidationRun> {
  if (commands.length === 0) {
    throw new UserError("commands is empty; give at least one validation command to run.", "commands");
  }
  const prepared = commands.map((command, index) => prepare(command, index, opts));
  checkCwd(opts.cwd);
  const env = scrubEnv(opts.env ?? process.env, opts.scrubNames);
  const outputBytes = outputBudget(opts);

  const results: CommandResult[] = [];
  let stopReason: string | undefined;
  for (const [index, command] of prepared.entries()) {
    if (opts.signal?.aborted) stopReason = CANCELLED;
    if (stopReason !== undefined) {
      results.push(skipped(command.run, stopReason));
      continue;
    }
    notify(opts, { index, total: prepared.length, run: command.run, phase: "start" });
    const result = await execute(command, { cwd: opts.cwd, env, outputBytes, signal: opts.signal });
    results.push(result);
    notify(opts, { index, total: prepared.length, run: command.run, phase: "end", result });
    if (result.error === CANCELLED) stopReason = CANCELLED;
    else if (!result.passed && !opts.continueOnFailure) {
      stopReason = "not run because an earlier command failed";
    }
  }
  return { passed: results.every((r) => r.passed), results };
}

/** Runs one command (see runValidation for the options; continueOnFailure does not apply). */
export async function runCommand(
  command: ValidationCommand,
  opts: RunValidationOptions,
): Promise<CommandResult> {
  const { results } = await runValidation([command], opts);
  return results[0];
}

function prepare(command: ValidationCommand, index: number, opts: RunValidationOptions): PreparedCommand {
  const at = `commands[${index}]`;
  if (typeof command.run !== "string" || command.run.trim() === "") {
    throw new UserError(`${at}.run is empty; give the shell line to run.`, `${at}.run`);
  }
  if (command.run.includes("\0")) {
    throw new UserError(
      `${at}.run contains a NUL byte, which no shell line can hold; remove it.`,
      `${at}.run`,
    );
  }
  if (Buffer.byteLength(command.run) > MAX_ARG_BYTES - 64) {
    throw new UserError(
      `${at}.run is over the system's 128 KiB limit for one command line; put the commands in a script and run that.`,
      `${at}.run`,
    );
  }
  const expectExit = command.expect_exit ?? 0;
  if (!Number.isInteger(expectExit) || expectExit < 0 || expectExit > 255) {
    throw new UserError(
      `${at}.expect_exit must be an integer from 0 to 255, got ${expectExit}.`,
      `${at}.expect_exit`,
    );
  }
  const ceiling = opts.timeoutCeilingS ?? DEFAULT_TIMEOUT_CEILING_S;
  const timeoutS = command.timeout_s ?? opts.defaultTimeoutS ?? DEFAULT_TIMEOUT_S;
  if (!(timeoutS > 0) || !Number.isFinite(timeoutS)) {
    throw new UserError(
      `${at}.timeout_s must be a positive number of seconds, got ${timeoutS}.`,
      `${at}.timeout_s`,
    );
  }
  let expectation: OutputExpectation | undefined;
  if (command.expect_output !== undefined) {
    try {
      expectation = parseExpectOutput(command.expect_output);
    } catch (err) {
      if (err instanceof UserError) throw new UserError(`${at}.${err.message}`, `${at}.expect_output`);
      throw err;
    }
  }
  return {
    run: command.run,
    timeoutMs: Math.round(Math.min(timeoutS, ceiling) * 1000),
    expectExit,
    expectation,
  };
}

function checkCwd(cwd: string): void {
  let isDir = false;
  try {
    isDir = statSync(cwd).isDirectory();
  } catch {
    // missing: reported below
  }
  if (!isDir) {
    throw new UserError(`The working directory ${cwd} does not exist or is not a directory.`, "cwd");
  }
}

function outputBudget(opts: RunValidationOptions): number {
  const bytes = opts.outputBytes ?? DEFAULT_OUTPUT_BYTES;
  if (!Number.isInteger(bytes) || bytes < 0) {
    throw new RangeError(`outputBytes must be a non-negative integer, got ${bytes}`);
  }
  return bytes;
}

function notify(
  opts: RunValidationOptions,
  event: Parameters<NonNullable<RunValidationOptions["onProgress"]>>[0],
) {
  try {
    opts.onProgress?.(event);
  } catch (err) {
    log.warn("validation progress callback threw", { error: String(err) });
  }
}

function skipped(run: string, why: string): CommandResult {
  return {
    run,
    passed: false,
    exit_code: null,
    timed_out: false,
    duration_ms: 0,
    output: "",
    skipped: true,
    error: why,
  };
}

interface ExecOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  outputBytes: number;
  signal: AbortSignal | undefined;
}

type Ending = "exit" | "timeout" | "cancelled" | "spawn-error";

async function execute(command: PreparedCommand, o: ExecOptions): Promise<CommandResult> {
  const started = performance.now();
  const capture = new OutputCapture(o.outputBytes);
  const ended = await spawnAndWait(command, o, capture);
  const output = capture.finish();
  const result: CommandResult = {
    run: command.run,
    passed: false,
    exit_code: ended.exitCode,
    timed_out: ended.how === "timeout",
    duration_ms: Math.round(performance.now() - started),
    output: output.text.trimEnd(),
  };
  const error = await failure(command, ended, output);
  if (error === undefined) result.passed = true;
  else result.error = error;
  return result;
}

interface Ended {
  how: Ending;
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
  spawnError?: string;
}

async function failure(
  command: PreparedCommand,
  ended: Ended,
  output: CapturedOutput,
): Promise<string | undefined> {
  switch (ended.how) {
    case "spawn-error":
      return `bash could not be started: ${ended.spawnError}.`;
    case "cancelled":
      return CANCELLED;
    case "timeout":
      return `timed out after ${command.timeoutMs / 1000} s; its process group was killed.`;
  }
  if (ended.exitCode === null) return `killed by ${ended.exitSignal ?? "a signal"}.`;
  if (ended.exitCode !== command.expectExit) {
    const hint =
      ended.exitCode === 127 ? " (command not found)" : ended.exitCode === 126 ? " (not executable)" : "";
    return `exited with ${ended.exitCode}${hint}, expected ${command.expectExit}.`;
  }
  const expected = command.expectation ? await command.expectation.test(output.kept) : { found: true };
  if (expected.unfinished) {
    return `exit code was right but the check for ${command.expectation!.describe()} ${expected.unfinished}; simplify the pattern (nested repetition such as (a+)+ backtracks without end) or match a substring.`;
  }
  if (!expected.found) {
    const dropped =
      output.droppedBytes > 0
        ? ` (checked the kept head and tail; ${output.droppedBytes} bytes between were dropped)`
        : "";
    return `exit code was right but no ${command.expectation!.describe()} was found${dropped}.`;
  }
  return undefined;
}

function spawnAndWait(command: PreparedCommand, o: ExecOptions, capture: OutputCapture): Promise<Ended> {
  return new Promise<Ended>((resolve) => {
    if (o.signal?.aborted) {
      resolve({ how: "cancelled", exitCode: null, exitSignal: null });
      return;
    }
    // `exec 2>&1` on the same line merges stderr into stdout in bash itself, so the two arrive in
    // the order written, and line numbers in bash's messages stay those of the planner's line.
    const subprocess = execa("bash", ["-c", `exec 2>&1; ${command.run}`], {
      cwd: o.cwd,
      env: o.env,
      // The scrubbed environment is the whole environment: nothing of the server's is merged back.
      extendEnv: false,
      detached: true,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      encoding: "buffer",
      buffer: false,
      reject: false,
    });
    const pgid = subprocess.pid;
    if (pgid !== undefined) trackGroup(pgid);
    const streams = [subprocess.stdout, subprocess.stderr];

    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let openStreams = streams.length;
    let streamsClosed: () => void = () => {};
    let finishing = false;

    const onData = (chunk: Buffer) => capture.push(chunk);
    for (const stream of streams) {
      stream.on("data", onData);
      stream.on("error", () => {}); // a destroyed pipe may report errors nobody needs
      stream.once("close", () => {
        openStreams--;
        if (openStreams === 0) streamsClosed();
      });
    }
    const drained = (ms: number) =>
      new Promise<void>((done) => {
        if (openStreams === 0) return done();
        const timer = setTimeout(done, ms);
        streamsClosed = () => {
          clearTimeout(timer);
          done();
        };
      });

    const finish = async (how: Ending, spawnError?: string) => {
      if (finishing) return;
      finishing = true;
      clearTimeout(deadline);
      o.signal?.removeEventListener("abort", onAbort);
      if (how === "exit") await drained(DRAIN_MS); // the leader is gone; let its last output arrive
      if (pgid !== undefined) {
        // After a normal exit this also removes leftovers (`daemon &`); usually a single kill(-pgid, 0).
        await killGroup(pgid, KILL_GRACE_MS);
        untrackGroup(pgid);
        if (how !== "spawn-error") await drained(DRAIN_MS);
      }
      // Whatever still holds the pipes (a process that left the group) no longer delays us.
      for (const stream of streams) {
        stream.off("data", onData);
        stream.destroy();
      }
      resolve({ how, exitCode, exitSignal, spawnError });
    };

    // Gaps in execa 9 (test/unit/validation/execa-gaps.test.ts shows both): its promise settles only
    // once the pipes close, which a grandchild can hold open for ever, so the leader's own `exit`
    // event ends the wait; and its timeout and cancelSignal signal the leader alone, so the deadline
    // and cancellation kill the whole process group here (process-group.ts).
    const onAbort = () => void finish("cancelled");
    const deadline = setTimeout(() => void finish("timeout"), command.timeoutMs);
    o.signal?.addEventListener("abort", onAbort, { once: true });
    subprocess.once("exit", (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      void finish("exit");
    });
    // A leader that never started (bash missing, spawn refused) has no exit event: execa's result says why.
    void subprocess.then((result) => {
      if (result.failed && result.exitCode === undefined && result.signal === undefined) {
        void finish("spawn-error", messageOf(result.cause ?? result.originalMessage));
      }
    });
  });
}
