/**
 * Start-up repair of the delegate worktrees after a crash: records of worktrees whose directory is
 * gone, stale index.lock files, and directories git does not know. The user's own worktrees are
 * never touched.
 */
import { lstat, readdir, readFile, rm, rmdir, unlink } from "node:fs/promises";
import path from "node:path";
import { commonDir, gitRoot } from "./repo.js";
import { forceRemoveWorktree, listDelegateWorktrees } from "./worktree.js";
import { WORKTREES_DIR } from "./worktree-presence.js";

/** A lock or directory younger than this may belong to a git command running right now. */
const DEFAULT_STALE_AGE_MS = 30_000;

/**
 * Start-up repair after a crash: drops worktree records of delegate worktrees whose directory is
 * gone, removes index.lock files left in delegate worktrees, and directories under
 * delegate-worktrees that git does not know. Locks and directories younger than `staleAgeMs`
 * (default 30 s) are left alone: they may belong to a git command running now. The user's own
 * worktrees are never touched. Returns one line per action.
 */
export async function repairWorktrees(repo: string, opts: { staleAgeMs?: number } = {}): Promise<string[]> {
  const staleAgeMs = opts.staleAgeMs ?? DEFAULT_STALE_AGE_MS;
  const root = await gitRoot(repo);
  const base = path.join(await commonDir(root), WORKTREES_DIR);
  const done: string[] = [];
  const isOld = async (p: string) => {
    const st = await lstat(p).catch(() => null);
    return st !== null && Date.now() - st.mtimeMs >= staleAgeMs;
  };

  for (const wt of await listDelegateWorktrees(root)) {
    if (!wt.prunable) continue;
    const removed = await forceRemoveWorktree(root, wt.path);
    done.push(
      removed.exitCode === 0
        ? `removed the record of missing worktree ${wt.path}`
        : `could not remove the record of missing worktree ${wt.path}: ${removed.stderr.trim()}`,
    );
  }

  const live = await listDelegateWorktrees(root);
  for (const wt of live) {
    const gitDir = await worktreeGitDir(wt.path);
    if (gitDir === null) continue;
    const lock = path.join(gitDir, "index.lock");
    if (await isOld(lock)) {
      await unlink(lock);
      done.push(`removed stale ${lock}`);
    }
  }

  const known = new Set(live.map((wt) => path.resolve(wt.path)));
  for (const project of await readdir(base).catch(() => [] as string[])) {
    const projectDir = path.join(base, project);
    for (const entry of await readdir(projectDir).catch(() => [] as string[])) {
      const dir = path.join(projectDir, entry);
      if (known.has(dir) || !(await isOld(dir))) continue;
      await rm(dir, { recursive: true, force: true });
      done.push(`removed ${dir}, which git does not know as a worktree`);
    }
    await rmdir(projectDir).catch(() => {});
  }
  return done;
}

/** The git dir of a linked worktree, from its `.git` file. */
async function worktreeGitDir(wtPath: string): Promise<string | null> {
  const text = await readFile(path.join(wtPath, ".git"), "utf8").catch(() => null);
  const m = text === null ? null : /^gitdir: (.+)$/m.exec(text);
  return m ? path.resolve(wtPath, m[1]!.trim()) : null;
}
