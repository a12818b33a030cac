/**
 * Several git commands in one child process of the server: the dispatcher's hot path (stage,
 * commit, show) in one `sh`, where git() would start three.
 *
 * Why not git() per command: libuv starts every child by forking the whole node process, and the
 * forking thread waits until the child has exec'd: 7–13 ms per child on an idle 2-core machine,
 * about 30 ms when the machine is busy (profiled in parallel dispatch, where it was the largest
 * part of the server's own time). sh's children are forks of a small process instead. The one fork
 * runs on child-thread.ts's worker, as git()'s do. simple-git runs one git per call, so it cannot
 * do this either; test/unit/executor/git-sequence.test.ts shows the one child.
 *
 * Each step runs as `git <hardening> <args>` with git()'s environment; the arguments reach sh as
 * single-quoted words, and every step's arguments are checked as git() checks them. Steps run in
 * order and the sequence stops at the first exit code its step does not accept.
 */
import { UserError } from "../core/errors.js";
import { runChild } from "./child-thread.js";
import {
  assertSubcommand,
  DEFAULT_TIMEOUT_MS,
  GitError,
  type GitOutput,
  gitEnv,
  HARDENING,
  STDERR_KEEP_BYTES,
} from "./git.js";

export interface GitStep {
  args: readonly string[];
  /** Exit codes that are answers rather than failures; default [0]. */
  okExitCodes?: readonly number[];
  /** This step reads the sequence's input on its stdin; every other step reads nothing. */
  stdin?: boolean;
}

export interface GitSequenceOutput extends GitOutput {
  /** Each step's exit code, in order; shorter than the steps when one failed. */
  exitCodes: number[];
}

/** Marks a step's exit code in sh's stderr: a control character git never prints first on a line. */
const MARK = "\x1fdelegate-step";
const MARKED = new RegExp(`\\n?${MARK} (\\d+) (\\d+)\\n`, "g");
/** sh's exit code when a step other than the last failed (git itself exits 0, 1, 128 or 129). */
const STEP_FAILED = 125;
/** sh's exit code for a command it cannot find. */
const NOT_FOUND = 127;

const okFor = (step: GitStep, code: number) => (step.okExitCodes ?? [0]).includes(code);

/** A word sh reads back exactly: single quotes, each ' as '\''. */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The sh script: "$@" is the hardening prefix; each step's own words are quoted into it. */
function scriptOf(steps: readonly GitStep[]): string {
  return steps
    .map((step, i) => {
      const words = step.args.map(quote).join(" ");
      const input = step.stdin ? "" : " </dev/null";
      if (i === steps.length - 1) return `exec git "$@" ${words}${input}`;
      const ok = (step.okExitCodes ?? [0]).join("|");
      // Earlier steps' stdout goes to stderr: only the last step answers on stdout.
      return `git "$@" ${words}${input} >&2; c=$?; printf '\\n${MARK} %d %d\\n' ${i} $c >&2; case $c in ${ok}) ;; *) exit ${STEP_FAILED};; esac`;
    })
    .join("\n");
}

/** Runs `steps` in `cwd` in one sh. Throws GitError for the first step whose exit code it does not accept. */
export function gitSequence(
  cwd: string,
  steps: readonly GitStep[],
  opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<GitSequenceOutput> {
  if (steps.length === 0) throw new Error("gitSequence needs at least one step.");
  for (const step of steps) {
    for (const arg of step.args) {
      if (arg.includes("\0"))
        throw new UserError(`A git argument contains a NUL byte: ${JSON.stringify(arg)}.`);
    }
    assertSubcommand(step.args);
    for (const code of step.okExitCodes ?? []) {
      if (!Number.isInteger(code) || code < 0 || code > 255) throw new Error(`exit code ${code} is not one`);
    }
  }
  return runSequence(cwd, steps, opts);
}

async function runSequence(
  cwd: string,
  steps: readonly GitStep[],
  opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number },
): Promise<GitSequenceOutput> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // Its own process group, so a timeout ends sh and the git it is waiting on together.
  const ran = await runChild({
    file: "/bin/sh",
    args: ["-c", scriptOf(steps), "sh", ...HARDENING],
    cwd,
    env: gitEnv(opts.env),
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    timeoutMs,
    maxStdoutBytes: Number.POSITIVE_INFINITY,
    maxStderrBytes: STDERR_KEEP_BYTES,
    group: true,
  });
  if (ran.error)
    throw new GitError(steps[0]!.args, null, "", `could not run sh in ${cwd}: ${ran.error.message}`);
  const code = ran.code;
  const exitCodes: number[] = [];
  const stderr = ran.stderr.toString("utf8").replace(MARKED, (_m, _i: string, c: string) => {
    exitCodes.push(Number(c));
    return "";
  });
  if (ran.timedOut) {
    const running = steps[exitCodes.length]?.args ?? [];
    throw new GitError(running, code, stderr, `timed out after ${timeoutMs} ms`);
  }
  // Which step ended the sequence, and with what: an earlier one whose code it did not accept
  // (sh then exits STEP_FAILED right after that step's mark), or the last.
  const i = exitCodes.length - 1;
  const stopped = code === STEP_FAILED && i >= 0 && i < steps.length - 1 && !okFor(steps[i]!, exitCodes[i]!);
  const [step, stepCode] = stopped ? [steps[i]!, exitCodes[i]!] : [steps.at(-1)!, code];
  if (stepCode === NOT_FOUND && /git: (command )?not found/.test(stderr)) {
    throw new UserError("git is not installed or not on PATH; install git to dispatch tasks.");
  }
  if (stopped || stepCode === null || !okFor(step, stepCode)) throw new GitError(step.args, stepCode, stderr);
  exitCodes.push(stepCode);
  return {
    stdout: ran.stdout.toString("utf8"),
    raw: ran.stdout,
    stderr,
    exitCode: stepCode,
    stdoutBytes: ran.stdoutBytes,
    exitCodes,
  };
}
