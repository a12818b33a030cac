/**
 * The one way the server runs git: through simple-git (design card). Every call disables what
 * repository or user config could make git execute on its own (hooks, fsmonitor, external diff,
 * textconv, pager, GPG signing, auto gc), drops inherited GIT_* variables (GIT_DIR, GIT_WORK_TREE,
 * GIT_INDEX_FILE, GIT_EXTERNAL_DIFF, …) and the editor, pager and askpass variables, never
 * prompts, treats pathspecs literally, and never lets the child inherit our stdout (the MCP
 * channel).
 *
 * simple-git 4.0.2 (the newest published) guards git's argv by category and has no per-key
 * allowConfig: our own `-c core.hooksPath=/dev/null` and `-c core.fsmonitor=false` need its
 * hooksPath and fsmonitor categories opened. So every call's own arguments are checked here
 * first: they must start with a git subcommand (no global option such as `-c`, `--config-env`
 * or `--exec-path`) other than `config`, so only the fixed hardening prefix can set those keys.
 * Every other category of simple-git's guard stays on.
 *
 * Three jobs simple-git cannot do run on a direct child process with the same flags and
 * environment (`directGit`); test/unit/executor/git.test.ts shows each against simple-git itself:
 * - keeping only the first N bytes of a large output (simple-git keeps all of it in memory);
 * - an empty stdin (simple-git writes nothing and leaves git's stdin open, so a command reading
 *   it would wait forever);
 * - a command that prints nothing: simple-git's completion step then waits a fixed 50 ms before
 *   it answers (measured 56 ms against 2.5 ms per call). Most of an attempt's git calls (add,
 *   commit, apply, update-index, worktree add/remove, an empty diff) print nothing, and this wait
 *   was most of a dispatch's own overhead. So simple-git runs the queries that always print their
 *   answer (`PRINTS_ANSWER`), and every other call runs direct.
 * A fourth, several commands in one child process, is git-sequence.ts. Both start their child
 * from a worker thread (child-thread.ts): a fork from the main thread holds up every request and
 * model answer until the child has exec'd.
 *
 * Left enabled on purpose: clean/smudge filters and merge drivers the user configured (git-lfs
 * needs them; they only transform content the user asked git to transform).
 */
import { simpleGit } from "simple-git";
import { UserError } from "../core/errors.js";
import { runChild } from "./child-thread.js";

/** Config that keeps git from running commands the repository or the user's config name. */
export const HARDENING: readonly string[] = [
  "--no-pager",
  "--literal-pathspecs",
  "-c",
  "core.hooksPath=/dev/null",
  "-c",
  "core.fsmonitor=false",
  "-c",
  "core.untrackedCache=false",
  "-c",
  "commit.gpgSign=false",
  "-c",
  "gc.auto=0",
  "-c",
  "maintenance.auto=false",
  "-c",
  "color.ui=false",
  "-c",
  "core.quotePath=false",
];

/** For every diff: no external diff program, no textconv filter, no colour codes in the output. */
export const DIFF_HARDENING: readonly string[] = ["--no-ext-diff", "--no-textconv", "--no-color"];

/** For every `git apply`: the user's apply.whitespace=error must not refuse a patch git itself produced. */
export const APPLY: readonly string[] = ["--whitespace=nowarn"];

/** Identity of the commits the server makes in worktrees. */
export const DELEGATE_IDENTITY = {
  GIT_AUTHOR_NAME: "delegate-mcp",
  GIT_AUTHOR_EMAIL: "delegate-mcp@localhost",
  GIT_COMMITTER_NAME: "delegate-mcp",
  GIT_COMMITTER_EMAIL: "delegate-mcp@localhost",
};

/** Inherited GIT_* variables that only choose config files or the identity; every other GIT_* is dropped. */
const INHERITED_GIT_VARS = new Set([
  "GIT_CONFIG_NOSYSTEM",
  "GIT_CONFIG_GLOBAL",
  "GIT_CONFIG_SYSTEM",
  "GIT_CEILING_DIRECTORIES",
  "GIT_AUTHOR_NAME",
  "GIT_AUTHOR_EMAIL",
  "GIT_COMMITTER_NAME",
  "GIT_COMMITTER_EMAIL",
]);

/** The categories of simple-git's guard that HARDENING itself trips (see the header). */
const HARDENING_OPT_OUTS = { allowUnsafeHooksPath: true, allowUnsafeFsMonitor: true } as const;

/** Variables naming programs git could start (editor, pager, askpass): no call here needs one. */
const DROPPED_VARS = new Set(["EDITOR", "VISUAL", "PAGER", "SSH_ASKPASS", "PREFIX"]);

/** Inherited config-file locations: simple-git treats them as unsafe unless told otherwise. */
const CONFIG_PATH_VARS = ["GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM"];

export const DEFAULT_TIMEOUT_MS = 120_000;
export const STDERR_KEEP_BYTES = 64 * 1024;

export interface GitRunOptions {
  /** Written to git's stdin (otherwise stdin is closed). */
  input?: string | Buffer;
  /** Exit codes that are answers rather than failures; default [0]. */
  okExitCodes?: readonly number[];
  /** Set for this call only, after inherited GIT_* variables were dropped (e.g. GIT_INDEX_FILE). */
  env?: Record<string, string>;
  /** Keep only the first N bytes of stdout; the rest is counted, not kept. */
  maxStdoutBytes?: number;
  /** Kills git after this long; default 120 s. */
  timeoutMs?: number;
}

export interface GitOutput {
  /** stdout decoded as UTF-8 (the kept part when maxStdoutBytes applies). */
  stdout: string;
  /** stdout bytes as git wrote them (the kept part when maxStdoutBytes applies). */
  raw: Buffer;
  stderr: string;
  exitCode: number;
  /** Total stdout bytes, kept or not. */
  stdoutBytes: number;
}

/** git exited with a code the caller did not expect: a bug or an environment problem, not a user mistake. */
export class GitError extends Error {
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(args: readonly string[], exitCode: number | null, stderr: string, why?: string) {
    const detail = why ?? (stderr.trim().split("\n").slice(-3).join(" / ") || `exit code ${exitCode}`);
    super(`git ${args.join(" ")} failed: ${detail}`);
    this.name = "GitError";
    this.args = args;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Runs `git <hardening> <args>` in `cwd`. Throws GitError unless the exit code is in okExitCodes. */
export function git(cwd: string, args: readonly string[], opts: GitRunOptions = {}): Promise<GitOutput> {
  for (const arg of args) {
    if (arg.includes("\0"))
      throw new UserError(`A git argument contains a NUL byte: ${JSON.stringify(arg)}.`);
  }
  assertSubcommand(args);
  const emptyInput = opts.input !== undefined && opts.input.length === 0;
  if (opts.maxStdoutBytes === undefined && !emptyInput && printsAnswer(args))
    return viaSimpleGit(cwd, args, opts);
  return directGit(cwd, args, opts);
}

/** Queries that print their answer whenever they succeed: simple-git never waits on these. */
const PRINTS_ANSWER = new Set(["rev-parse", "write-tree", "hash-object", "commit-tree", "cat-file", "var"]);

/** Whether a call always prints on success (see the header: the others would wait 50 ms in simple-git). */
export function printsAnswer(args: readonly string[]): boolean {
  const [sub, next] = args;
  if (sub === "worktree") return next === "list";
  if (sub === "merge-base") return !args.includes("--is-ancestor");
  // `rev-parse --verify --quiet` answers a missing ref with an exit code and nothing printed.
  if (sub === "rev-parse") return !args.includes("--quiet") && !args.includes("-q");
  return sub !== undefined && PRINTS_ANSWER.has(sub);
}

/** A call's own arguments start with a subcommand: global options (-c, --config-env, --exec-path) are HARDENING's alone. */
export function assertSubcommand(args: readonly string[]): void {
  const sub = args[0];
  if (sub === undefined || !/^[a-z][a-z0-9-]*$/.test(sub) || sub === "config") {
    throw new Error(
      `git ${args.slice(0, 3).join(" ")}: refused, a call must start with a git subcommand other than config.`,
    );
  }
}

async function viaSimpleGit(cwd: string, args: readonly string[], opts: GitRunOptions): Promise<GitOutput> {
  const env = gitEnv(opts.env);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const okExitCodes = opts.okExitCodes ?? [0];
  const deadline = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    deadline.abort();
  }, timeoutMs);
  let result: { stdOut: Buffer[]; stdErr: Buffer[]; exitCode: number } | undefined;
  try {
    const client = simpleGit({
      baseDir: cwd,
      abort: deadline.signal,
      unsafe: {
        ...HARDENING_OPT_OUTS,
        ...(CONFIG_PATH_VARS.some((name) => env[name] !== undefined) ? { allowUnsafeConfigPaths: true } : {}),
      },
      allowEnvironment: Object.keys(env).filter((name) => name.toUpperCase().startsWith("GIT_")),
      ...(opts.input !== undefined ? { input: () => opts.input } : {}),
      // Every outcome is kept and judged below by exit code: several commands answer with one.
      errors: (_error, outcome) => {
        result = outcome;
        return undefined;
      },
    }).env(env);
    await client.raw([...HARDENING, ...args]);
  } catch (err) {
    if (result === undefined) {
      throw new GitError(args, null, "", `could not run git in ${cwd}: ${(err as Error)?.message ?? err}`);
    }
  } finally {
    clearTimeout(timer);
  }
  const stderr = keepHead(Buffer.concat(result?.stdErr ?? []), STDERR_KEEP_BYTES).toString("utf8");
  const code = result?.exitCode ?? null;
  if (timedOut) throw new GitError(args, code, stderr, `timed out after ${timeoutMs} ms`);
  // A child that could not be started: simple-git reports it as a negative exit code.
  if (code !== null && code < 0) {
    if (/ENOENT/.test(stderr))
      throw new UserError("git is not installed or not on PATH; install git to dispatch tasks.");
    throw new GitError(args, null, stderr);
  }
  if (code === null || !okExitCodes.includes(code)) throw new GitError(args, code, stderr);
  const raw = Buffer.concat(result!.stdOut);
  return { stdout: raw.toString("utf8"), raw, stderr, exitCode: code, stdoutBytes: raw.length };
}

function keepHead(bytes: Buffer, max: number): Buffer {
  return bytes.length > max ? bytes.subarray(0, max) : bytes;
}

/**
 * `git` on a child process of our own, for the jobs simple-git cannot do (see the header), started
 * from a worker thread so the fork does not hold up the main thread (child-thread.ts).
 */
async function directGit(cwd: string, args: readonly string[], opts: GitRunOptions): Promise<GitOutput> {
  const okExitCodes = opts.okExitCodes ?? [0];
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const ran = await runChild({
    file: "git",
    args: [...HARDENING, ...args],
    cwd,
    env: gitEnv(opts.env),
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    timeoutMs,
    maxStdoutBytes: opts.maxStdoutBytes ?? Number.POSITIVE_INFINITY,
    maxStderrBytes: STDERR_KEEP_BYTES,
  });
  if (ran.error) {
    if (ran.error.code === "ENOENT")
      throw new UserError("git is not installed or not on PATH; install git to dispatch tasks.");
    throw new GitError(args, null, "", `could not run git in ${cwd}: ${ran.error.message}`);
  }
  const stderr = ran.stderr.toString("utf8");
  if (ran.timedOut) throw new GitError(args, ran.code, stderr, `timed out after ${timeoutMs} ms`);
  if (ran.code === null || !okExitCodes.includes(ran.code)) throw new GitError(args, ran.code, stderr);
  return {
    stdout: ran.stdout.toString("utf8"),
    raw: ran.stdout,
    stderr,
    exitCode: ran.code,
    stdoutBytes: ran.stdoutBytes,
  };
}

/** The environment of every git the server runs: inherited, minus what could redirect or prompt. */
export function gitEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.toUpperCase().startsWith("GIT_") && !INHERITED_GIT_VARS.has(name)) continue;
    if (DROPPED_VARS.has(name.toUpperCase())) continue;
    env[name] = value;
  }
  env.GIT_TERMINAL_PROMPT = "0";
  // Read-only commands (status, diff) must not take index.lock in the user's repository.
  env.GIT_OPTIONAL_LOCKS = "0";
  // English messages: a few callers recognise git's own wording ("not a git repository").
  env.LC_ALL = "C";
  return { ...env, ...extra };
}

/** A ref, revision or branch name given to git as an argument: refused when git could read it as an option. */
export function assertRef(value: string, field = "ref"): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new UserError(`${field} is empty; give a branch name or commit.`, field);
  }
  if (value.startsWith("-")) {
    throw new UserError(
      `${field} "${value}" starts with "-", which git would read as an option; refused.`,
      field,
    );
  }
  if (/[\s~^:?*[\\]/.test(value) || value.includes("..") || value.includes("@{")) {
    throw new UserError(`${field} "${value}" is not a valid branch name or commit.`, field);
  }
  return value;
}

/**
 * A path relative to a repository's top level, given to git after `--`: refused when absolute,
 * when it climbs out with `..`, names `.git`, or starts with "-".
 */
export function assertRepoPath(
  value: string,
  field = "path",
  /** The caller passes the path only after `--` (or to fs): a leading "-" is then a plain name. */
  opts: { afterDoubleDash?: boolean } = {},
): string {
  if (typeof value !== "string" || value.length === 0) throw new UserError(`${field} is empty.`, field);
  if (value.startsWith("-") && !opts.afterDoubleDash) {
    throw new UserError(
      `${field} "${value}" starts with "-", which git would read as an option; refused.`,
      field,
    );
  }
  if (value.startsWith("/") || value.includes("\0") || value.includes("\\")) {
    throw new UserError(`${field} "${value}" must be a path relative to the repository root.`, field);
  }
  const parts = value.split("/");
  if (parts.some((p) => p === ".." || p === "." || p === "")) {
    throw new UserError(
      `${field} "${value}" must be a plain relative path (no "..", "." or empty parts).`,
      field,
    );
  }
  if (parts.some((p) => p.toLowerCase() === ".git")) {
    throw new UserError(`${field} "${value}" is inside .git; refused.`, field);
  }
  return value;
}

/** Splits NUL-terminated git output (-z) into its records. */
export function splitNul(text: string): string[] {
  const parts = text.split("\0");
  if (parts.at(-1) === "") parts.pop();
  return parts;
}
