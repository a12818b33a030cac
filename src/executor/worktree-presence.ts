/**
 * Where delegate worktrees live, and whether a repository may hold any, read from the file system
 * alone: a start with nothing to repair then loads no git layer and runs no git (the first tool
 * call of a session pays for neither).
 */
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { isWithin } from "../store/safe-path.js";

/** Delegate worktrees live under <git common dir>/delegate-worktrees/<project>/. */
export const WORKTREES_DIR = "delegate-worktrees";

/**
 * False only when sure there is nothing to repair: the repository's `.git`, found the way git
 * finds it (walking up from `dir`; git.ts drops an inherited GIT_DIR), is a directory with no
 * delegate-worktrees directory and no linked-worktree record pointing into one. True when unsure:
 * `.git` is a file (a linked worktree or a submodule), or a record cannot be read. Outside any
 * repository: false, as git would find nothing either.
 */
export async function mayHoldDelegateWorktrees(dir: string): Promise<boolean> {
  const dotGit = await findDotGit(path.resolve(dir));
  if (dotGit === null) return false;
  const info = await stat(dotGit).catch(() => null);
  if (!info?.isDirectory()) return true;
  const common = await realpath(dotGit);
  const base = path.join(common, WORKTREES_DIR);
  if (await stat(base).catch(() => null)) return true;
  const records = path.join(common, "worktrees");
  for (const name of await readdir(records).catch(() => [] as string[])) {
    const gitdir = await readFile(path.join(records, name, "gitdir"), "utf8").catch(() => null);
    if (gitdir === null || isWithin(base, path.resolve(records, name, gitdir.trim()))) return true;
  }
  return false;
}

async function findDotGit(from: string): Promise<string | null> {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, ".git");
    if (await stat(candidate).catch(() => null)) return candidate;
    if (path.dirname(dir) === dir) return null;
  }
}
