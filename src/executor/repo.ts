/**
 * Facts about the user's repository that every git-touching module asks for: its top level, HEAD,
 * the common git dir (cached: they do not change while the server runs), and which commit a ref
 * names.
 */
import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { assertRef, GitError, git } from "./git.js";

export class NotAGitRepoError extends UserError {
  constructor(dir: string) {
    super(
      `${dir} is not a git repository; dispatch needs git (run git init and commit) — other tools still work.`,
    );
    this.name = "NotAGitRepoError";
  }
}

// A directory's repository top level does not change while the server runs (short of a new
// `git init` inside it): remember answers, and spare a git process on every dispatch step.
const topLevels = new Map<string, string>();

const commonDirs = new Map<string, string>();

/** The repository's top level for `dir` (or any directory inside it). */
export async function gitRoot(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  const st = await stat(abs).catch(() => null);
  if (!st?.isDirectory()) throw new NotAGitRepoError(abs);
  const known = topLevels.get(abs);
  if (known) return known;
  try {
    const top = (await git(abs, ["rev-parse", "--show-toplevel"])).stdout.trim();
    if (top === "") throw new NotAGitRepoError(abs);
    topLevels.set(abs, top);
    return top;
  } catch (err) {
    if (!(err instanceof GitError)) throw err;
    if (/dubious ownership/i.test(err.stderr)) {
      throw new UserError(
        `git refuses ${abs} because another user owns it; if you trust it, run: git config --global --add safe.directory ${abs}`,
      );
    }
    throw new NotAGitRepoError(abs);
  }
}

/** The sha HEAD points at. */
export async function headCommit(repo: string): Promise<string> {
  const root = await gitRoot(repo);
  const sha = await resolveCommit(root, "HEAD");
  if (sha === null) {
    throw new UserError(
      `${root} has no commits yet; dispatch branches from HEAD, so make a first commit (git add -A && git commit -m "initial").`,
    );
  }
  return sha;
}

export async function commonDir(root: string): Promise<string> {
  const known = commonDirs.get(root);
  if (known) return known;
  const out = (await git(root, ["rev-parse", "--git-common-dir"])).stdout.trim();
  const dir = await realpath(path.resolve(root, out));
  commonDirs.set(root, dir);
  return dir;
}

/** The sha `rev` names, or null when it names no commit. */
export async function resolveCommit(cwd: string, rev: string): Promise<string | null> {
  const out = await git(cwd, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], {
    okExitCodes: [0, 1, 128],
  });
  return out.exitCode === 0 ? out.stdout.trim() : null;
}

export async function mustResolve(cwd: string, rev: string, field: string): Promise<string> {
  assertRef(rev, field);
  const sha = await resolveCommit(cwd, rev);
  if (sha === null) throw new UserError(`${field} ${rev} is not a commit in ${cwd}.`, field);
  return sha;
}

export async function branchHead(root: string, branch: string, field: string): Promise<string> {
  assertRef(branch, field);
  const sha = await resolveCommit(root, `refs/heads/${branch}`);
  if (sha === null) throw new UserError(`${field}: branch ${branch} does not exist.`, field);
  return sha;
}

export async function isAncestor(root: string, ancestor: string, of: string): Promise<boolean> {
  const out = await git(root, ["merge-base", "--is-ancestor", ancestor, of], { okExitCodes: [0, 1] });
  return out.exitCode === 0;
}
