/**
 * One worktree per attempt on branch delegate/<task id>, kept under the git common dir so the
 * user's tree and `git status` stay untouched: create, list and remove them, retrying the transient
 * failures git gives when another process touches worktrees at the same moment.
 *
 * Lifecycle of an attempt across the executor folder: createWorktree (here) → revertPaths and
 * commitAll (attempt-commit) → diff (review) → applyToWorkspace (apply, on accept) →
 * removeWorktree (here, on accept or discard). Start-up repair is worktree-repair's.
 */
import { lstat, mkdir, readdir, realpath, rm, rmdir } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { parseTaskId } from "../core/mini-task.js";
import { isWithin } from "../store/safe-path.js";
import { assertRef, GitError, type GitOutput, type GitRunOptions, git } from "./git.js";
import { branchHead, commonDir, gitRoot, headCommit, resolveCommit } from "./repo.js";
import { WORKTREES_DIR } from "./worktree-presence.js";

export interface WorktreeInfo {
  /** Absolute path of the worktree. */
  path: string;
  /** Short branch name, e.g. delegate/proj/03-slug. */
  branch: string;
  /** The commit the attempt started from (full sha). */
  base: string;
}

export interface DelegateWorktree {
  path: string;
  /** Short branch name, "" when detached. */
  branch: string;
  locked: boolean;
  /** Its directory is gone; repairWorktrees removes the record. */
  prunable: boolean;
}

const BRANCH_PREFIX = "delegate/";

/** "proj/03-slug" → "delegate/proj/03-slug"; throws a UserError for anything that is not a task id. */
export function branchFor(taskId: string): string {
  if (typeof taskId !== "string" || parseTaskId(taskId) === null) {
    throw new UserError(`"${taskId}" is not a task id like proj/03-slug; refused.`, "task_id");
  }
  return `${BRANCH_PREFIX}${taskId}`;
}

/**
 * A fresh worktree for one attempt at <git-common-dir>/delegate-worktrees/<project>/<NN-slug>-a<attempt>,
 * on branch delegate/<task id> reset to HEAD (or to `fromBranch`, a dependency's branch). Earlier
 * attempts' worktrees of the task are removed first.
 */
export async function createWorktree(
  repo: string,
  taskId: string,
  /** base: the commit to start from when there is no fromBranch (default: HEAD now). */
  opts: { attempt: number; fromBranch?: string; base?: string },
): Promise<WorktreeInfo> {
  const branch = branchFor(taskId);
  if (!Number.isInteger(opts.attempt) || opts.attempt < 1) {
    throw new UserError(`attempt must be a positive integer, got ${opts.attempt}.`, "attempt");
  }
  const root = await gitRoot(repo);
  let base: string;
  if (opts.fromBranch !== undefined) {
    assertRef(opts.fromBranch, "fromBranch");
    if (opts.fromBranch === branch) {
      throw new UserError(
        `fromBranch ${branch} is the task's own branch; give the dependency's branch.`,
        "fromBranch",
      );
    }
    base = await branchHead(root, opts.fromBranch, "fromBranch");
  } else if (opts.base !== undefined) {
    base = assertRef(opts.base, "base");
  } else {
    base = await headCommit(root);
  }
  const common = await commonDir(root);
  const wtPath = `${path.join(common, WORKTREES_DIR, ...taskId.split("/"))}-a${opts.attempt}`;
  await mkdir(path.dirname(wtPath), { recursive: true });
  // The common case, a task's first attempt with nothing left on disk, skips `git worktree list`
  // (one process, and git reads every worktree's files for it). Anything in the way makes the add
  // fail, and the full path below clears it and says what it was.
  if (opts.attempt === 1 && !(await attemptDirsExist(common, taskId))) {
    try {
      await addWorktree(root, branch, wtPath, base);
      return { path: wtPath, branch, base };
    } catch {
      await forceRemoveWorktree(root, wtPath);
    }
  }
  await removeTaskWorktrees(root, common, taskId);
  try {
    await addWorktree(root, branch, wtPath, base);
  } catch (err) {
    await forceRemoveWorktree(root, wtPath);
    if (err instanceof GitError && /already checked out|already used by worktree/.test(err.stderr)) {
      throw new UserError(
        `branch ${branch} is checked out in another worktree; switch it to another branch first.`,
      );
    }
    throw err;
  }
  return { path: wtPath, branch, base };
}

// git reads every worktree's admin files while it adds, lists or removes one: a worktree another
// process is adding at that moment (`failed to read .git/worktrees/<x>/commondir`) or a held lock
// fails the call. Those failures pass: retry them a few times, briefly.
const TRANSIENT_WORKTREE_ERROR =
  /failed to read .*(commondir|gitdir)|could not lock|Unable to create .*\.lock|File exists/;

async function worktreeGit(
  root: string,
  args: string[],
  opts: GitRunOptions = {},
  /** Runs before each retry after a thrown failure, e.g. to clear what a failed call left. */
  beforeRetry?: () => Promise<void>,
): Promise<GitOutput> {
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await git(root, args, opts);
      if (out.exitCode === 0 || attempt >= 6 || !TRANSIENT_WORKTREE_ERROR.test(out.stderr)) return out;
    } catch (err) {
      if (!(err instanceof GitError) || attempt >= 6 || !TRANSIENT_WORKTREE_ERROR.test(err.stderr)) throw err;
      await beforeRetry?.();
    }
    await new Promise((r) => setTimeout(r, 25 * attempt + Math.floor(Math.random() * 25)));
  }
}

/** Drop a worktree's record and its directory, whatever state it is in; never fails. */
export async function forceRemoveWorktree(root: string, wtPath: string): Promise<GitOutput> {
  const out = await worktreeGit(root, ["worktree", "remove", "--force", "--force", "--", wtPath], {
    okExitCodes: [0, 128],
  });
  await rm(wtPath, { recursive: true, force: true });
  return out;
}

/** `git worktree add`, one at a time per repository in this process (other processes: retried). */
const adding = new Map<string, Promise<unknown>>();

async function addWorktree(root: string, branch: string, wtPath: string, base: string): Promise<void> {
  const args = ["worktree", "add", "--quiet", "-B", branch, "--", wtPath, base];
  const previous = adding.get(root) ?? Promise.resolve();
  // git may leave a half-made worktree behind: clear it before trying again.
  const run = previous.then(() =>
    worktreeGit(root, args, {}, () => forceRemoveWorktree(root, wtPath).then(() => {})),
  );
  adding.set(
    root,
    run.catch(() => {}),
  );
  await run;
}

/** Removes every worktree of the task (all attempts) and its branch. Does nothing when there are none. */
export async function removeWorktree(repo: string, taskId: string): Promise<void> {
  const branch = branchFor(taskId);
  const root = await gitRoot(repo);
  const common = await commonDir(root);
  await removeTaskWorktrees(root, common, taskId);
  if ((await resolveCommit(root, `refs/heads/${branch}`)) !== null) {
    await git(root, ["update-ref", "-d", `refs/heads/${branch}`]);
  }
  const projectDir = path.join(common, WORKTREES_DIR, taskId.split("/")[0]!);
  await rmdir(projectDir).catch(() => {});
}

/** The worktrees this server made (under delegate-worktrees, or on a delegate/ branch). */
export async function listDelegateWorktrees(repo: string): Promise<DelegateWorktree[]> {
  const root = await gitRoot(repo);
  const base = path.join(await commonDir(root), WORKTREES_DIR);
  const records = await worktreeRecords(root);
  return records
    .filter((r) => !r.main && (isWithin(base, path.resolve(r.path)) || r.branch.startsWith(BRANCH_PREFIX)))
    .map(({ path: p, branch, locked, prunable }) => ({ path: p, branch, locked, prunable }));
}

interface WorktreeRecord {
  path: string;
  branch: string;
  main: boolean;
  locked: boolean;
  prunable: boolean;
}

/** `git worktree list --porcelain`, line-based (its -z form needs git 2.36). */
async function worktreeRecords(root: string): Promise<WorktreeRecord[]> {
  const { stdout } = await worktreeGit(root, ["worktree", "list", "--porcelain"]);
  const records: WorktreeRecord[] = [];
  for (const block of stdout.split(/\n\n+/)) {
    const lines = block.split("\n").filter((l) => l !== "");
    const first = lines[0];
    if (first === undefined || !first.startsWith("worktree ")) continue;
    const stored = first.slice("worktree ".length);
    const record: WorktreeRecord = {
      // Compared with paths under the realpath'd common dir (macOS: /var → /private/var).
      path: await realpath(stored).catch(() => stored),
      branch: "",
      main: records.length === 0,
      locked: false,
      prunable: false,
    };
    for (const line of lines.slice(1)) {
      if (line.startsWith("branch refs/heads/")) record.branch = line.slice("branch refs/heads/".length);
      else if (line === "locked" || line.startsWith("locked ")) record.locked = true;
      else if (line === "prunable" || line.startsWith("prunable ")) record.prunable = true;
    }
    if (!record.main && !record.prunable) {
      record.prunable = (await lstat(record.path).catch(() => null)) === null;
    }
    records.push(record);
  }
  return records;
}

/** Whether any attempt directory of `taskId` is on disk (a worktree or what one left). */
async function attemptDirsExist(common: string, taskId: string): Promise<boolean> {
  const [project, name] = taskId.split("/") as [string, string];
  const attemptName = new RegExp(`^${escapeRegExp(name)}-a\\d+$`);
  const entries = await readdir(path.join(common, WORKTREES_DIR, project)).catch(() => [] as string[]);
  return entries.some((entry) => attemptName.test(entry));
}

/** Removes the worktrees of every attempt of `taskId` and leftover directories; keeps the branch. */
async function removeTaskWorktrees(root: string, common: string, taskId: string): Promise<void> {
  const branch = branchFor(taskId);
  const base = path.join(common, WORKTREES_DIR);
  const projectDir = path.join(base, taskId.split("/")[0]!);
  const attemptName = new RegExp(`^${escapeRegExp(taskId.split("/")[1]!)}-a\\d+$`);
  const isAttemptDir = (p: string) => path.dirname(p) === projectDir && attemptName.test(path.basename(p));

  for (const record of await worktreeRecords(root)) {
    const ours = isWithin(base, path.resolve(record.path));
    if (record.branch === branch && (record.main || !ours)) {
      throw new UserError(
        `branch ${branch} is checked out at ${record.path}; switch that worktree to another branch first.`,
      );
    }
    if (record.branch !== branch && !isAttemptDir(path.resolve(record.path))) continue;
    await forceRemoveWorktree(root, record.path);
  }
  for (const entry of await readdir(projectDir).catch(() => [] as string[])) {
    if (attemptName.test(entry)) await rm(path.join(projectDir, entry), { recursive: true, force: true });
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
