/**
 * Git isolation for executor attempts: one worktree per attempt on branch delegate/<task id>,
 * kept under the git common dir so the user's tree and `git status` stay untouched, and the
 * review/accept/discard operations on it. Every git call goes through ./git.ts (hooks, fsmonitor
 * and other config-driven commands disabled).
 *
 * Lifecycle: createWorktree → (executor edits) → revertPaths (out of scope) → commitAll →
 * changedFiles / diff (review) → applyToWorkspace (accept) → removeWorktree (accept or discard).
 */
import {
  chmod,
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  rmdir,
  stat,
  symlink,
  unlink,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { parseTaskId } from "../core/mini-task.js";
import { isWithin } from "../store/safe-path.js";
import {
  assertRef,
  assertRepoPath,
  GitError,
  type GitOutput,
  type GitRunOptions,
  git,
  splitNul,
} from "./git.js";

export class NotAGitRepoError extends UserError {
  constructor(dir: string) {
    super(
      `${dir} is not a git repository; dispatch needs git (run git init and commit) — other tools still work.`,
    );
    this.name = "NotAGitRepoError";
  }
}

export interface WorktreeInfo {
  /** Absolute path of the worktree. */
  path: string;
  /** Short branch name, e.g. delegate/proj/03-slug. */
  branch: string;
  /** The commit the attempt started from (full sha). */
  base: string;
}

export interface ChangedFile {
  path: string;
  /** Lines added; -1 for a binary file (git cannot count lines). */
  added: number;
  /** Lines removed; -1 for a binary file. */
  removed: number;
  /**
   * A added and committed, M modified (content, mode or type), D deleted, ? new and not committed
   * yet. R is never produced: renames come as D + A so a scope check sees both paths.
   */
  status: "A" | "M" | "D" | "R" | "?";
}

export interface DiffResult {
  /** The unified diff, cut at a line end when longer than maxBytes. */
  diff: string;
  /** `git diff --stat` of the whole change (never cut). */
  stat: string;
  truncated: boolean;
  /** Size of the whole diff in bytes. */
  bytes: number;
}

export interface DelegateWorktree {
  path: string;
  /** Short branch name, "" when detached. */
  branch: string;
  locked: boolean;
  /** Its directory is gone; repairWorktrees removes the record. */
  prunable: boolean;
}

/** Identity of the commits the server makes in worktrees. */
const DELEGATE_IDENTITY = {
  GIT_AUTHOR_NAME: "delegate-mcp",
  GIT_AUTHOR_EMAIL: "delegate-mcp@localhost",
  GIT_COMMITTER_NAME: "delegate-mcp",
  GIT_COMMITTER_EMAIL: "delegate-mcp@localhost",
};

/** About 15,000 tokens of diff. */
export const DEFAULT_DIFF_MAX_BYTES = 60_000;
const WORKTREES_DIR = "delegate-worktrees";
const BRANCH_PREFIX = "delegate/";
/** A lock or directory younger than this may belong to a git command running right now. */
const DEFAULT_STALE_AGE_MS = 30_000;
const DIFF_HARDENING = ["--no-ext-diff", "--no-textconv", "--no-color"];
/** The user's apply.whitespace=error must not refuse a patch git itself produced. */
const APPLY = ["--whitespace=nowarn"];

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
  await removeTaskWorktrees(root, common, taskId);
  const wtPath = `${path.join(common, WORKTREES_DIR, ...taskId.split("/"))}-a${opts.attempt}`;
  await mkdir(path.dirname(wtPath), { recursive: true });
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
async function forceRemoveWorktree(root: string, wtPath: string): Promise<GitOutput> {
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

/**
 * Commits every change in the worktree (new, modified, deleted; .gitignore'd files excluded) on its
 * branch as delegate-mcp. Returns the new commit's sha, or null when there was nothing to commit.
 */
export async function commitAll(wt: WorktreeInfo, message: string): Promise<string | null> {
  const before = (await git(wt.path, ["rev-parse", "HEAD"])).stdout.trim();
  const head = await commitEverything(wt, message);
  return head === before ? null : head;
}

/** Stage every change in the worktree and commit it as delegate-mcp; returns HEAD afterwards. */
async function commitEverything(wt: WorktreeInfo, message: string): Promise<string> {
  if (typeof message !== "string" || message.trim() === "") {
    throw new UserError("commit message is empty; give one.", "message");
  }
  await git(wt.path, ["add", "--all"]);
  const commit = await git(wt.path, ["commit", "--quiet", "--no-verify", "--no-gpg-sign", "--file=-"], {
    input: message,
    env: DELEGATE_IDENTITY,
    okExitCodes: [0, 1],
  });
  if (commit.exitCode !== 0 && !/nothing (added )?to commit/.test(commit.stdout + commit.stderr)) {
    throw new GitError(["commit"], commit.exitCode, commit.stderr);
  }
  return (await git(wt.path, ["rev-parse", "HEAD"])).stdout.trim();
}

/**
 * Commit everything the attempt changed and list the change against the base, in four git
 * processes (add, commit, rev-parse, diff) instead of changedFiles + commitAll's nine: the
 * dispatcher's hot path. Files come as in changedFiles, without a status (no caller needs one).
 * `head` is null when nothing changed.
 */
export async function commitAndList(
  wt: WorktreeInfo,
  message: string,
): Promise<{ head: string | null; files: Omit<ChangedFile, "status">[] }> {
  assertRef(wt.base, "base");
  const head = await commitEverything(wt, message);
  if (head === wt.base) return { head: null, files: [] };
  const raw = splitNul(
    (await git(wt.path, ["diff", "--numstat", "--no-renames", "-z", ...DIFF_HARDENING, wt.base, head, "--"]))
      .stdout,
  );
  const files: Omit<ChangedFile, "status">[] = [];
  for (const record of raw) {
    const [added, removed, ...rest] = record.split("\t");
    const file = rest.join("\t");
    if (!file) continue;
    files.push({
      path: file,
      added: added === "-" ? -1 : Number(added),
      removed: removed === "-" ? -1 : Number(removed),
    });
  }
  return {
    head,
    files: files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}

/**
 * Every file that differs between the attempt's base and the worktree's files, committed or not,
 * including new files git does not track yet (status "?"). Read-only: the worktree's index is not
 * touched (a scratch copy is used). Sorted by path.
 */
export async function changedFiles(wt: WorktreeInfo): Promise<ChangedFile[]> {
  assertRef(wt.base, "base");
  const tmp = await mkdtemp(path.join(os.tmpdir(), "delegate-index-"));
  try {
    const env = { GIT_INDEX_FILE: path.join(tmp, "index") };
    const indexPath = path.resolve(
      wt.path,
      (await git(wt.path, ["rev-parse", "--git-path", "index"])).stdout.trim(),
    );
    const copied = await copyFile(indexPath, env.GIT_INDEX_FILE).then(
      () => true,
      () => false,
    );
    if (!copied) await git(wt.path, ["read-tree", "HEAD"], { env });
    await git(wt.path, ["add", "--all"], { env });
    const range = ["--cached", "--no-renames", "-z", ...DIFF_HARDENING, wt.base, "--"];
    const numstat = splitNul((await git(wt.path, ["diff", "--numstat", ...range], { env })).stdout);
    const nameStatus = splitNul((await git(wt.path, ["diff", "--name-status", ...range], { env })).stdout);
    const untracked = new Set(
      splitNul((await git(wt.path, ["ls-files", "--others", "--exclude-standard", "-z"])).stdout),
    );

    const counts = new Map<string, { added: number; removed: number }>();
    for (const record of numstat) {
      const [added, removed, ...rest] = record.split("\t");
      counts.set(rest.join("\t"), {
        added: added === "-" ? -1 : Number(added),
        removed: removed === "-" ? -1 : Number(removed),
      });
    }
    const files: ChangedFile[] = [];
    for (let i = 0; i + 1 < nameStatus.length; i += 2) {
      const letter = nameStatus[i]![0];
      const file = nameStatus[i + 1]!;
      const status: ChangedFile["status"] =
        letter === "A" ? (untracked.has(file) ? "?" : "A") : letter === "D" ? "D" : "M";
      const count = counts.get(file) ?? { added: 0, removed: 0 };
      files.push({ path: file, ...count, status });
    }
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Undoes the worktree's changes to `paths` (relative to the worktree root): a path the base has is
 * restored to the base's content (index and file); any other path is deleted. Run commitAll
 * afterwards to record the revert on the branch.
 */
export async function revertPaths(wt: WorktreeInfo, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  // Every git call below takes the paths after "--", so a file named "-rf" is just a file.
  for (const [i, p] of paths.entries()) assertRepoPath(p, `paths[${i}]`, { afterDoubleDash: true });
  assertRef(wt.base, "base");
  const inBase = new Set(
    splitNul((await git(wt.path, ["ls-tree", "-r", "-z", "--name-only", wt.base, "--", ...paths])).stdout),
  );
  const restore = paths.filter((p) => inBase.has(p));
  const remove = paths.filter((p) => !inBase.has(p));
  if (restore.length > 0) await git(wt.path, ["checkout", "--quiet", wt.base, "--", ...restore]);
  if (remove.length === 0) return;
  await git(wt.path, ["rm", "-r", "--quiet", "--cached", "--ignore-unmatch", "--", ...remove]);
  const root = await realpath(wt.path);
  for (const p of remove) {
    const parent = await realpath(path.join(root, path.dirname(p))).catch(() => null);
    if (parent === null) continue;
    if (!isWithin(root, path.resolve(parent))) {
      throw new UserError(`paths: ${p} resolves outside the worktree; refused.`, "paths");
    }
    await rm(path.join(parent, path.basename(p)), { recursive: true, force: true });
    await removeEmptyDirs(parent, root);
  }
}

/**
 * `git diff base head` (renames detected, no external diff or textconv), cut at a line end after
 * `maxBytes` (default 60,000 ≈ 15k tokens), with the stat of the whole change. Only committed
 * changes show: commitAll first.
 */
export async function diff(
  repoOrWt: string,
  base: string,
  head: string,
  opts: { maxBytes?: number } = {},
): Promise<DiffResult> {
  const maxBytes = opts.maxBytes ?? DEFAULT_DIFF_MAX_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new UserError(`maxBytes must be a positive integer, got ${maxBytes}.`, "maxBytes");
  }
  await gitRoot(repoOrWt);
  const from = await mustResolve(repoOrWt, base, "base");
  const to = await mustResolve(repoOrWt, head, "head");
  const full = await git(repoOrWt, ["diff", "-M", ...DIFF_HARDENING, from, to, "--"], {
    maxStdoutBytes: maxBytes,
  });
  const stat = await git(repoOrWt, ["diff", "-M", "--stat=100", ...DIFF_HARDENING, from, to, "--"]);
  const truncated = full.stdoutBytes > maxBytes;
  return {
    diff: truncated ? cutAtLineEnd(full.raw) : full.stdout,
    stat: stat.stdout,
    truncated,
    bytes: full.stdoutBytes,
  };
}

/**
 * Applies the task's committed change (wt.base → head of wt.branch) to the user's working tree as a
 * three-way merge against what the user has now: "ours" is HEAD plus the working-tree state of the
 * files the task touches (the user's uncommitted edits, and what accepting a dependency without
 * commit left there), "base" the task's base, "theirs" the task's head. So it still applies after
 * unrelated commits, next to unrelated uncommitted edits in the same file, and after a task it was
 * built on (`depends_on`) was accepted without commit.
 *
 * Default: files only (index and HEAD untouched; new files are left untracked).
 *
 * `commit: true`: one commit on top of HEAD (identity from the user's git config) whose tree is HEAD
 * with the touched files as merged; their index entries are set to match, other staged work stays
 * staged. When a touched file has uncommitted changes, they must be exactly what accepting the
 * task's dependencies without commit left in it (HEAD three-way merged with the commits between
 * HEAD's history and the task's base): then the commit carries them too, in those files only (a
 * line in the commit message says so; the dependencies' other files stay uncommitted). Any other
 * uncommitted change in a touched file (the user's own) refuses the commit: the user's work is
 * never committed under the task's name.
 *
 * On any conflict it throws a UserError naming the files and changes nothing; a failure midway is
 * rolled back to the bytes the files (and, with commit, their index entries) had before, and HEAD
 * moves last.
 */
export async function applyToWorkspace(
  repo: string,
  wt: Pick<WorktreeInfo, "branch" | "base">,
  opts: { commit?: boolean; message?: string } = {},
): Promise<{ applied: string[]; commit?: string }> {
  const root = await gitRoot(repo);
  assertRef(wt.base, "base");
  const taskHead = await branchHead(root, wt.branch, "branch");
  const userHead = await headCommit(root);
  const touched = await namesBetween(root, wt.base, taskHead);
  if (touched.length === 0) return { applied: [] };

  const tmp = await mkdtemp(path.join(os.tmpdir(), "delegate-apply-"));
  try {
    const blocked = await pathsBeyondSymlink(root, touched);
    if (blocked.length > 0) {
      throw new UserError(
        `The task's files ${list(blocked)} are beyond a symbolic link in your working tree (the task needs a ` +
          "directory there); replace the link, then accept again (nothing was changed).",
        "task_id",
      );
    }

    // 1. "ours": HEAD plus the working-tree state of the touched files, in a scratch index (the
    //    user's index and files stay untouched; only blobs are written to the object store).
    const scratch = { GIT_INDEX_FILE: path.join(tmp, "index") };
    const oursTree = await workingTreeState(root, userHead, touched, scratch);
    const edited = new Set(await namesBetween(root, userHead, oursTree));

    // 2. Merge the task's change into it.
    const taskPatch = path.join(tmp, "task.patch");
    await writePatch(root, wt.base, taskHead, taskPatch);
    const merge = await git(root, ["apply", ...APPLY, "--cached", "--3way", taskPatch], {
      env: scratch,
      okExitCodes: [0, 1],
    });
    if (merge.exitCode !== 0) {
      let conflicts = await unmergedPaths(root, scratch);
      if (conflicts.length === 0)
        conflicts = await pathsThatDoNotMerge(root, oursTree, wt.base, taskHead, touched, tmp);
      if (conflicts.length === 0) conflicts = touched;
      const byCommits = conflicts.filter((p) => !edited.has(p));
      if (byCommits.length > 0) {
        const onDependency = !(await isAncestor(root, wt.base, userHead));
        throw new UserError(
          `The task's changes conflict with commits made since it started, in ${list(byCommits)}; ` +
            (onDependency
              ? "it was built on another task's changes: if that task is not accepted yet, accept it first; otherwise "
              : "") +
            "discard the task and dispatch it again from the current HEAD.",
          "task_id",
        );
      }
      throw new UserError(
        `Your uncommitted changes conflict with the task's changes in ${list(conflicts)}; ` +
          "commit, stash or revert them, then accept again (nothing was changed).",
        "task_id",
      );
    }
    const mergedTree = (await git(root, ["write-tree"], { env: scratch })).stdout.trim();

    // 3. What changes: the files (ours → merged) and, with commit, the commit (HEAD → merged).
    const applied = await namesBetween(root, oursTree, mergedTree);
    const committed = opts.commit ? await namesBetween(root, userHead, mergedTree) : [];
    if (applied.length === 0 && committed.length === 0) return { applied: [] };

    // 4. Check everything before writing anything.
    let fromDependencies: string[] = [];
    if (opts.commit) {
      const dirty = await dirtyPaths(root, union(applied, committed));
      const own = await notLeftByDependencies(root, userHead, wt.base, oursTree, dirty, tmp);
      if (own.length > 0) {
        throw new UserError(
          `You have uncommitted changes in ${list(own)}, which the task also changes; commit or stash them ` +
            "(or accept without commit), then accept again.",
          "commit",
        );
      }
      fromDependencies = dirty;
    }
    const patch = path.join(tmp, "rebased.patch");
    if (applied.length > 0) {
      await writePatch(root, oursTree, mergedTree, patch);
      const check = await git(root, ["apply", ...APPLY, "--check", patch], { okExitCodes: [0, 1] });
      if (check.exitCode !== 0) {
        const conflicting = await pathsThatFail(root, oursTree, mergedTree, applied, tmp);
        throw new UserError(
          `Your uncommitted changes conflict with the task's changes in ${list(conflicting.length > 0 ? conflicting : applied)}; ` +
            "commit, stash or revert them, then accept again (nothing was changed).",
          "task_id",
        );
      }
    }

    // 5. Write, keeping the previous bytes and index entries to roll back to; HEAD moves last.
    const before = await snapshot(root, applied);
    const indexBefore = committed.length > 0 ? await indexRecords(root, committed) : [];
    let indexSet = false;
    try {
      if (applied.length > 0) await git(root, ["apply", ...APPLY, patch]);
      await verifyFiles(root, mergedTree, applied);
      let commit: string | undefined;
      if (committed.length > 0) {
        let message = opts.message?.trim() ? opts.message : `delegate: apply ${wt.branch}`;
        if (fromDependencies.length > 0) {
          message =
            `${message.trimEnd()}\n\nAlso commits the uncommitted changes that accepting the tasks it depends on ` +
            `left in ${list(fromDependencies)}.`;
        }
        commit = await commitTree(root, mergedTree, userHead, message);
        indexSet = true;
        await setIndexEntries(root, mergedTree, committed, userHead.length);
        await git(root, ["update-ref", "-m", `commit: ${message.split("\n")[0]}`, "HEAD", commit, userHead]);
      }
      return commit === undefined ? { applied } : { applied: union(applied, committed), commit };
    } catch (err) {
      if (indexSet) await restoreIndexEntries(root, committed, indexBefore, userHead.length);
      await restore(root, before);
      if (err instanceof GitError && err.args.includes("update-ref")) {
        throw new UserError(
          "HEAD moved while the task was being accepted; nothing was changed, accept again.",
        );
      }
      throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
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

// ---------------------------------------------------------------------------------------------

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

async function commonDir(root: string): Promise<string> {
  const known = commonDirs.get(root);
  if (known) return known;
  const out = (await git(root, ["rev-parse", "--git-common-dir"])).stdout.trim();
  const dir = await realpath(path.resolve(root, out));
  commonDirs.set(root, dir);
  return dir;
}

/** The sha `rev` names, or null when it names no commit. */
async function resolveCommit(cwd: string, rev: string): Promise<string | null> {
  const out = await git(cwd, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], {
    okExitCodes: [0, 1, 128],
  });
  return out.exitCode === 0 ? out.stdout.trim() : null;
}

async function mustResolve(cwd: string, rev: string, field: string): Promise<string> {
  assertRef(rev, field);
  const sha = await resolveCommit(cwd, rev);
  if (sha === null) throw new UserError(`${field} ${rev} is not a commit in ${cwd}.`, field);
  return sha;
}

async function branchHead(root: string, branch: string, field: string): Promise<string> {
  assertRef(branch, field);
  const sha = await resolveCommit(root, `refs/heads/${branch}`);
  if (sha === null) throw new UserError(`${field}: branch ${branch} does not exist.`, field);
  return sha;
}

/** Paths that differ between two trees, renames split into delete + add. */
async function namesBetween(root: string, from: string, to: string): Promise<string[]> {
  const out = await git(root, [
    "diff",
    "--name-only",
    "--no-renames",
    "-z",
    ...DIFF_HARDENING,
    from,
    to,
    "--",
  ]);
  return splitNul(out.stdout);
}

/** A patch `git apply` can replay exactly: binary-safe, full blob ids (for --3way), bytes untouched. */
async function writePatch(root: string, from: string, to: string, file: string, paths: string[] = []) {
  await git(root, [
    "diff",
    "--binary",
    "--full-index",
    "--no-renames",
    ...DIFF_HARDENING,
    `--output=${file}`,
    from,
    to,
    "--",
    ...paths,
  ]);
}

async function unmergedPaths(root: string, env: Record<string, string>): Promise<string[]> {
  const out = await git(root, ["ls-files", "--unmerged", "-z"], { env });
  return [...new Set(splitNul(out.stdout).map((record) => record.slice(record.indexOf("\t") + 1)))];
}

/** Which of `paths` have uncommitted changes (staged, unstaged, or an untracked file in the way). */
async function dirtyPaths(root: string, paths: string[]): Promise<string[]> {
  const out = await git(root, ["status", "--porcelain", "-z", "--untracked-files=all", "--", ...paths]);
  const records = splitNul(out.stdout);
  const dirty = new Set<string>();
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    dirty.add(record.slice(3));
    if (record[0] === "R" || record[0] === "C") dirty.add(records[++i]!);
  }
  return paths.filter((p) => dirty.has(p));
}

/** The paths whose own part of the patch does not apply to the user's files. */
async function pathsThatFail(root: string, from: string, to: string, paths: string[], tmp: string) {
  const failing: string[] = [];
  for (const [i, p] of paths.entries()) {
    const one = path.join(tmp, `one-${i}.patch`);
    await writePatch(root, from, to, one, [p]);
    const check = await git(root, ["apply", ...APPLY, "--check", one], { okExitCodes: [0, 1] });
    if (check.exitCode !== 0) failing.push(p);
  }
  return failing;
}

/**
 * Builds, in the index `env` names, HEAD with `paths` as the working tree has them (what `git add`
 * would stage: clean filters and core.fileMode apply); a path that is missing or a directory there
 * counts as deleted. Writes the blobs, never the user's index. Returns the tree.
 */
async function workingTreeState(
  root: string,
  head: string,
  paths: string[],
  env: Record<string, string>,
): Promise<string> {
  await git(root, ["read-tree", head], { env });
  const present: string[] = [];
  const absent: string[] = [];
  for (const p of paths) {
    const st = await lstat(path.join(root, p)).catch(() => null);
    if (st !== null && (st.isFile() || st.isSymbolicLink())) present.push(p);
    else absent.push(p);
  }
  const nul = (list: string[]) => `${list.join("\0")}\0`;
  if (absent.length > 0) {
    await git(root, ["update-index", "-z", "--force-remove", "--stdin"], { env, input: nul(absent) });
  }
  if (present.length > 0) {
    await git(root, ["update-index", "-z", "--add", "--replace", "--stdin"], { env, input: nul(present) });
  }
  return (await git(root, ["write-tree"], { env })).stdout.trim();
}

/** The paths with a symbolic link among their leading directories in the working tree. */
async function pathsBeyondSymlink(root: string, paths: string[]): Promise<string[]> {
  const links = new Map<string, boolean>();
  const isLink = async (dir: string) => {
    let known = links.get(dir);
    if (known === undefined) {
      known = (await lstat(path.join(root, dir)).catch(() => null))?.isSymbolicLink() ?? false;
      links.set(dir, known);
    }
    return known;
  };
  const blocked: string[] = [];
  for (const p of paths) {
    const parts = p.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      if (await isLink(parts.slice(0, i).join("/"))) {
        blocked.push(p);
        break;
      }
    }
  }
  return blocked;
}

/** The paths whose own part of the task's change does not three-way merge into `oursTree`. */
async function pathsThatDoNotMerge(
  root: string,
  oursTree: string,
  base: string,
  head: string,
  paths: string[],
  tmp: string,
): Promise<string[]> {
  const failing: string[] = [];
  for (const [i, p] of paths.entries()) {
    const one = path.join(tmp, `merge-${i}.patch`);
    const env = { GIT_INDEX_FILE: path.join(tmp, `merge-${i}.index`) };
    await writePatch(root, base, head, one, [p]);
    await git(root, ["read-tree", oursTree], { env });
    const merged = await git(root, ["apply", ...APPLY, "--cached", "--3way", one], {
      env,
      okExitCodes: [0, 1],
    });
    if (merged.exitCode !== 0) failing.push(p);
  }
  return failing;
}

async function isAncestor(root: string, ancestor: string, of: string): Promise<boolean> {
  const out = await git(root, ["merge-base", "--is-ancestor", ancestor, of], { okExitCodes: [0, 1] });
  return out.exitCode === 0;
}

/**
 * Which of the dirty `paths` hold something other than what accepting the task's dependencies
 * without commit left there: their working-tree state (in `oursTree`) must equal HEAD three-way
 * merged with the dependencies' commits (fork point of HEAD and `base` → `base`), and their index
 * entry must be HEAD's or that same state (nothing else staged would be lost).
 */
async function notLeftByDependencies(
  root: string,
  head: string,
  base: string,
  oursTree: string,
  paths: string[],
  tmp: string,
): Promise<string[]> {
  if (paths.length === 0) return [];
  const expectedTree = await dependenciesTree(root, head, base, tmp);
  if (expectedTree === null) return paths;
  const ours = await treeEntries(root, oursTree, paths);
  const expected = await treeEntries(root, expectedTree, paths);
  const atHead = await treeEntries(root, head, paths);
  const index = new Map<string, string>();
  for (const record of await indexRecords(root, paths)) {
    const tab = record.indexOf("\t");
    const [mode, blob, stage] = record.slice(0, tab).split(" ");
    const file = record.slice(tab + 1);
    index.set(file, stage === "0" && !index.has(file) ? `${mode} ${blob}` : "unmerged");
  }
  return paths.filter((p) => {
    const mine = ours.get(p);
    const staged = index.get(p);
    return mine !== expected.get(p) || (staged !== atHead.get(p) && staged !== mine);
  });
}

/**
 * HEAD three-way merged with the commits the task's base has and HEAD's history has not (the
 * dependencies the task was built on), as a tree; null when there are none or they do not merge.
 */
async function dependenciesTree(
  root: string,
  head: string,
  base: string,
  tmp: string,
): Promise<string | null> {
  if (await isAncestor(root, base, head)) return null;
  const forkPoint = await git(root, ["merge-base", head, base], { okExitCodes: [0, 1] });
  if (forkPoint.exitCode !== 0) return null;
  const fork = forkPoint.stdout.trim();
  if ((await namesBetween(root, fork, base)).length === 0) return null;
  const patch = path.join(tmp, "dependencies.patch");
  await writePatch(root, fork, base, patch);
  const env = { GIT_INDEX_FILE: path.join(tmp, "dependencies.index") };
  await git(root, ["read-tree", head], { env });
  const merged = await git(root, ["apply", ...APPLY, "--cached", "--3way", patch], {
    env,
    okExitCodes: [0, 1],
  });
  if (merged.exitCode !== 0) return null;
  return (await git(root, ["write-tree"], { env })).stdout.trim();
}

/** "mode blob" of each of `paths` in `tree` (absent paths are missing from the map). */
async function treeEntries(root: string, tree: string, paths: string[]): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  if (paths.length === 0) return entries;
  const out = await git(root, ["ls-tree", "-r", "-z", "--full-tree", tree, "--", ...paths]);
  for (const line of splitNul(out.stdout)) {
    const tab = line.indexOf("\t");
    const [mode, , blob] = line.slice(0, tab).split(" ");
    entries.set(line.slice(tab + 1), `${mode} ${blob}`);
  }
  return entries;
}

/** The user's index entries for `paths`, as `ls-files -s` records ("mode blob stage\tpath"). */
async function indexRecords(root: string, paths: string[]): Promise<string[]> {
  if (paths.length === 0) return [];
  return splitNul((await git(root, ["ls-files", "-s", "-z", "--", ...paths])).stdout);
}

/** Sets the user's index entries of `paths` to `tree`'s (removing those it does not have). */
async function setIndexEntries(root: string, tree: string, paths: string[], oidLength: number) {
  const entries = await treeEntries(root, tree, paths);
  const removals = paths.map((p) => `0 ${"0".repeat(oidLength)}\t${p}`);
  const additions = [...entries].map(([p, entry]) => `${entry}\t${p}`);
  await git(root, ["update-index", "-z", "--index-info"], {
    input: `${[...removals, ...additions].join("\0")}\0`,
  });
}

/** Puts the user's index entries of `paths` back to `records` (from indexRecords). */
async function restoreIndexEntries(root: string, paths: string[], records: string[], oidLength: number) {
  const removals = paths.map((p) => `0 ${"0".repeat(oidLength)}\t${p}`);
  await git(root, ["update-index", "-z", "--index-info"], {
    input: `${[...removals, ...records].join("\0")}\0`,
    okExitCodes: [0, 1, 128],
  });
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

async function commitTree(root: string, tree: string, parent: string, message: string): Promise<string> {
  const ident = await git(root, ["var", "GIT_COMMITTER_IDENT"], { okExitCodes: [0, 128] });
  const author = await git(root, ["var", "GIT_AUTHOR_IDENT"], { okExitCodes: [0, 128] });
  const env = ident.exitCode === 0 && author.exitCode === 0 ? undefined : DELEGATE_IDENTITY;
  const text = message.endsWith("\n") ? message : `${message}\n`;
  const out = await git(root, ["commit-tree", tree, "-p", parent, "-F", "-"], { input: text, env });
  return out.stdout.trim();
}

type Snapshot =
  | { path: string; kind: "absent" }
  | { path: string; kind: "file"; bytes: Buffer; mode: number }
  | {
      path: string;
      kind: "symlink";
      target: string;
    };

async function snapshot(root: string, paths: string[]): Promise<Snapshot[]> {
  const shots: Snapshot[] = [];
  for (const p of paths) {
    const abs = path.join(root, p);
    const st = await lstat(abs).catch(() => null);
    if (st === null) shots.push({ path: p, kind: "absent" });
    else if (st.isSymbolicLink()) shots.push({ path: p, kind: "symlink", target: await readlink(abs) });
    else if (st.isFile())
      shots.push({ path: p, kind: "file", bytes: await readFile(abs), mode: st.mode & 0o7777 });
  }
  return shots;
}

/** Puts every snapshotted path back to its previous bytes, mode or absence. */
async function restore(root: string, shots: Snapshot[]): Promise<void> {
  for (const shot of shots) {
    const abs = path.join(root, shot.path);
    const st = await lstat(abs).catch(() => null);
    if (shot.kind === "absent") {
      if (st !== null) {
        await rm(abs, { recursive: true, force: true });
        await removeEmptyDirs(path.dirname(abs), root);
      }
      continue;
    }
    if (await unchanged(abs, shot)) continue;
    if (st !== null && (shot.kind === "symlink" || !st.isFile()))
      await rm(abs, { recursive: true, force: true });
    await mkdir(path.dirname(abs), { recursive: true });
    if (shot.kind === "symlink") {
      await symlink(shot.target, abs);
    } else {
      await writeFile(abs, shot.bytes);
      await chmod(abs, shot.mode);
    }
  }
}

async function unchanged(abs: string, shot: Snapshot): Promise<boolean> {
  const st = await lstat(abs).catch(() => null);
  if (st === null || shot.kind === "absent") return st === null && shot.kind === "absent";
  if (shot.kind === "symlink") return st.isSymbolicLink() && (await readlink(abs)) === shot.target;
  return st.isFile() && (st.mode & 0o7777) === shot.mode && (await readFile(abs)).equals(shot.bytes);
}

/** After writing: regular files must hash to the merged tree's blobs, deleted ones must be gone. */
async function verifyFiles(root: string, tree: string, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  const listing = splitNul((await git(root, ["ls-tree", "-z", tree, "--", ...paths])).stdout);
  const expected = new Map<string, { mode: string; blob: string }>();
  for (const line of listing) {
    const [meta, file] = [line.slice(0, line.indexOf("\t")), line.slice(line.indexOf("\t") + 1)];
    const [mode, , blob] = meta.split(" ");
    expected.set(file, { mode: mode!, blob: blob! });
  }
  const files: string[] = [];
  for (const p of paths) {
    const want = expected.get(p);
    const st = await lstat(path.join(root, p)).catch(() => null);
    if (want === undefined) {
      if (st !== null) throw new Error(`git apply left ${p} in place though the task deletes it.`);
    } else if (st === null) {
      throw new Error(`git apply did not write ${p}.`);
    } else if (want.mode.startsWith("100") && st.isFile()) {
      files.push(p);
    }
  }
  if (files.length === 0) return;
  const hashes = (
    await git(root, ["hash-object", "--stdin-paths"], { input: `${files.join("\n")}\n` })
  ).stdout
    .trim()
    .split("\n");
  files.forEach((p, i) => {
    if (hashes[i] !== expected.get(p)!.blob) throw new Error(`git apply wrote ${p} with unexpected content.`);
  });
}

/** The git dir of a linked worktree, from its `.git` file. */
async function worktreeGitDir(wtPath: string): Promise<string | null> {
  const text = await readFile(path.join(wtPath, ".git"), "utf8").catch(() => null);
  const m = text === null ? null : /^gitdir: (.+)$/m.exec(text);
  return m ? path.resolve(wtPath, m[1]!.trim()) : null;
}

/** Deletes `dir` and its parents while they are empty, stopping at `root`. */
async function removeEmptyDirs(dir: string, root: string): Promise<void> {
  let current = dir;
  while (isWithin(root, path.resolve(current)) && current !== root) {
    const entries = await readdir(current).catch(() => null);
    if (entries === null || entries.length > 0) return;
    await rmdir(current).catch(() => {});
    current = path.dirname(current);
  }
}

/** The kept bytes cut at the last line end (or, without one, before a character cut in half). */
function cutAtLineEnd(raw: Buffer): string {
  const nl = raw.lastIndexOf(0x0a);
  if (nl >= 0) return raw.subarray(0, nl + 1).toString("utf8");
  return raw.toString("utf8").replace(/\uFFFD+$/, "");
}

function list(paths: string[]): string {
  const shown = paths.slice(0, 10).join(", ");
  return paths.length > 10 ? `${shown} and ${paths.length - 10} more` : shown;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
