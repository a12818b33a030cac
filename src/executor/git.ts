/**
 * The one way the server runs git. Every call disables what repository or user config could make
 * git execute on its own (hooks, fsmonitor, external diff, textconv, pager, GPG signing, auto gc),
 * drops inherited GIT_* variables (GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE, GIT_EXTERNAL_DIFF, …),
 * never prompts, treats pathspecs literally, and never lets the child inherit our stdout (the MCP
 * channel).
 *
 * Not simple-git: its 4.x argv guard classifies `-c core.hooksPath=…` and `-c core.fsmonitor=…`
 * themselves as unsafe (only opt-outs of its guard would let us pass them), and it hides the exit
 * code that `diff --quiet`, `apply --check` and `rev-parse --verify` answer with.
 *
 * Left enabled on purpose: clean/smudge filters and merge drivers the user configured (git-lfs
 * needs them; they only transform content the user asked git to transform).
 */
import { spawn } from "node:child_process";
import { UserError } from "../core/errors.js";

/** Config that keeps git from running commands the repository or the user's config name. */
const HARDENING: readonly string[] = [
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

const DEFAULT_TIMEOUT_MS = 120_000;
const STDERR_KEEP_BYTES = 64 * 1024;

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
  const okExitCodes = opts.okExitCodes ?? [0];
  const maxStdout = opts.maxStdoutBytes ?? Number.POSITIVE_INFINITY;
  return new Promise((resolve, reject) => {
    const child = spawn("git", [...HARDENING, ...args], {
      cwd,
      env: gitEnv(opts.env),
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      windowsHide: true,
    });
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let stdoutBytes = 0;
    const errChunks: Buffer[] = [];
    let errBytes = 0;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);

    child.stdout!.on("data", (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (keptBytes < maxStdout) {
        const part = keptBytes + chunk.length > maxStdout ? chunk.subarray(0, maxStdout - keptBytes) : chunk;
        kept.push(part);
        keptBytes += part.length;
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      if (errBytes < STDERR_KEEP_BYTES) {
        errChunks.push(chunk);
        errBytes += chunk.length;
      }
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === "ENOENT") {
        reject(new UserError("git is not installed or not on PATH; install git to dispatch tasks."));
      } else reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(errChunks).toString("utf8");
      if (timedOut) {
        reject(
          new GitError(args, code, stderr, `timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`),
        );
        return;
      }
      if (code === null || !okExitCodes.includes(code)) {
        reject(new GitError(args, code, stderr));
        return;
      }
      const raw = Buffer.concat(kept);
      resolve({ stdout: raw.toString("utf8"), raw, stderr, exitCode: code, stdoutBytes });
    });
    if (opts.input !== undefined && child.stdin) {
      // git may exit before reading all input (e.g. on a bad argument); that is reported by its exit code.
      child.stdin.on("error", () => {});
      child.stdin.end(opts.input);
    }
  });
}

function gitEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.toUpperCase().startsWith("GIT_") && !INHERITED_GIT_VARS.has(name)) continue;
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
