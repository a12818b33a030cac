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
import { assertRef, assertRepoPath, GitError, git, splitNul } from "./git.js";

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

/** The repository's top level for `dir` (or any directory inside it). */
export async function gitRoot(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  const st = await stat(abs).catch(() => null);
  if (!st?.isDirectory()) throw new NotAGitRepoError(abs);
  try {
    const top = (await git(abs, ["rev-parse", "--show-toplevel"])).stdout.trim();
    if (top === "") throw new NotAGitRepoError(abs);
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
  opts: { attempt: number; fromBranch?: string },
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
  } else {
    base = await headCommit(root);
  }
  const common = await commonDir(root);
  await removeTaskWorktrees(root, common, taskId);
  const wtPath = `${path.join(common, WORKTREES_DIR, ...taskId.split("/"))}-a${opts.attempt}`;
  await mkdir(path.dirname(wtPath), { recursive: true });
  try {
    await git(root, ["worktree", "add", "--quiet", "-B", branch, "--", wtPath, base]);
  } catch (err) {
    await rm(wtPath, { recursive: true, force: true });
    await git(root, ["worktree", "remove", "--force", "--force", "--", wtPath], { okExitCodes: [0, 128] });
    if (err instanceof GitError && /already checked out|already used by worktree/.test(err.stderr)) {
      throw new UserError(
        `branch ${branch} is checked out in another worktree; switch it to another branch first.`,
      );
    }
    throw err;
  }
  return { path: wtPath, branch, base };
}

/**
 * Commits every change in the worktree (new, modified, deleted; .gitignore'd files excluded) on its
 * branch as delegate-mcp. Returns the new commit's sha, or null when there was nothing to commit.
 */
export async function commitAll(wt: WorktreeInfo, message: string): Promise<string | null> {
  if (typeof message !== "string" || message.trim() === "") {
    throw new UserError("commit message is empty; give one.", "message");
  }
  await git(wt.path, ["add", "--all"]);
  const staged = await git(wt.path, ["diff", "--cached", "--quiet", ...DIFF_HARDENING], {
    okExitCodes: [0, 1],
  });
  if (staged.exitCode === 0) return null;
  await git(wt.path, ["commit", "--quiet", "--no-verify", "--no-gpg-sign", "--file=-"], {
    input: message,
    env: DELEGATE_IDENTITY,
  });
  return (await git(wt.path, ["rev-parse", "HEAD"])).stdout.trim();
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
  for (const [i, p] of paths.entries()) assertRepoPath(p, `paths[${i}]`);
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
    if (!isInside(parent, root)) {
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
 * Applies the task's committed change (wt.base → head of wt.branch) to the user's working tree,
 * three-way merged onto the current HEAD, so it still applies after unrelated commits.
 *
 * Default: files only (index and HEAD untouched; new files are left untracked). A file the user
 * has uncommitted edits in is patched only when the task's hunks apply to it exactly.
 * `commit: true`: one commit on the current branch with exactly those files (identity from the
 * user's git config), index updated to match; refused when those files have uncommitted changes.
 *
 * On any conflict it throws a UserError naming the files and changes nothing; a failure midway is
 * rolled back to the bytes the files had before.
 */
export async function applyToWorkspace(
  repo: string,
  wt: WorktreeInfo,
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
    // 1. Merge the change onto HEAD in a scratch index: the user's index and files stay untouched.
    const taskPatch = path.join(tmp, "task.patch");
    await writePatch(root, wt.base, taskHead, taskPatch);
    const scratch = { GIT_INDEX_FILE: path.join(tmp, "index") };
    await git(root, ["read-tree", userHead], { env: scratch });
    const merge = await git(root, ["apply", ...APPLY, "--cached", "--3way", taskPatch], {
      env: scratch,
      okExitCodes: [0, 1],
    });
    if (merge.exitCode !== 0) {
      const unmerged = await unmergedPaths(root, scratch);
      const moved = new Set(await namesBetween(root, wt.base, userHead));
      const named = unmerged.length > 0 ? unmerged : touched.filter((p) => moved.has(p));
      throw new UserError(
        `The task's changes conflict with commits made since it started, in ${list(named.length > 0 ? named : touched)}; ` +
          "discard the task and dispatch it again from the current HEAD.",
        "task_id",
      );
    }
    const mergedTree = (await git(root, ["write-tree"], { env: scratch })).stdout.trim();

    // 2. What the user's files need: HEAD → merged tree.
    const applied = await namesBetween(root, userHead, mergedTree);
    if (applied.length === 0) return { applied: [] };
    const patch = path.join(tmp, "rebased.patch");
    await writePatch(root, userHead, mergedTree, patch);

    // 3. Check everything before writing anything.
    const dirty = await dirtyPaths(root, applied);
    if (opts.commit && dirty.length > 0) {
      throw new UserError(
        `You have uncommitted changes in ${list(dirty)}, which the task also changes; commit or stash them ` +
          "(or accept without commit), then accept again.",
        "commit",
      );
    }
    const check = await git(root, ["apply", ...APPLY, "--check", patch], { okExitCodes: [0, 1] });
    if (check.exitCode !== 0) {
      const conflicting = await pathsThatFail(root, userHead, mergedTree, applied, tmp);
      throw new UserError(
        `Your uncommitted changes conflict with the task's changes in ${list(conflicting.length > 0 ? conflicting : applied)}; ` +
          "commit, stash or revert them, then accept again (nothing was changed).",
        "task_id",
      );
    }

    // 4. Write, keeping the previous bytes to roll back to.
    const before = await snapshot(root, applied);
    let indexPatched = false;
    try {
      await git(root, ["apply", ...APPLY, patch]);
      let commit: string | undefined;
      if (opts.commit) {
        const message = opts.message?.trim() ? opts.message : `delegate: apply ${wt.branch}`;
        commit = await commitTree(root, mergedTree, userHead, message);
        await git(root, ["apply", ...APPLY, "--cached", patch]);
        indexPatched = true;
        await git(root, ["update-ref", "-m", `commit: ${message.split("\n")[0]}`, "HEAD", commit, userHead]);
      }
      const clean = applied.filter((p) => !dirty.includes(p));
      await verifyFiles(root, mergedTree, clean);
      return commit === undefined ? { applied } : { applied, commit };
    } catch (err) {
      if (indexPatched)
        await git(root, ["apply", ...APPLY, "--cached", "-R", patch], { okExitCodes: [0, 1] });
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
    .filter((r) => !r.main && (isInside(r.path, base) || r.branch.startsWith(BRANCH_PREFIX)))
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
    const removed = await git(root, ["worktree", "remove", "--force", "--force", "--", wt.path], {
      okExitCodes: [0, 128],
    });
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
  const { stdout } = await git(root, ["worktree", "list", "--porcelain"]);
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
    const ours = isInside(record.path, base);
    if (record.branch === branch && (record.main || !ours)) {
      throw new UserError(
        `branch ${branch} is checked out at ${record.path}; switch that worktree to another branch first.`,
      );
    }
    if (record.branch !== branch && !isAttemptDir(path.resolve(record.path))) continue;
    await git(root, ["worktree", "remove", "--force", "--force", "--", record.path], {
      okExitCodes: [0, 128],
    });
    await rm(record.path, { recursive: true, force: true });
  }
  for (const entry of await readdir(projectDir).catch(() => [] as string[])) {
    if (attemptName.test(entry)) await rm(path.join(projectDir, entry), { recursive: true, force: true });
  }
}

async function commonDir(root: string): Promise<string> {
  const out = (await git(root, ["rev-parse", "--git-common-dir"])).stdout.trim();
  return realpath(path.resolve(root, out));
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
  while (isInside(current, root) && current !== root) {
    const entries = await readdir(current).catch(() => null);
    if (entries === null || entries.length > 0) return;
    await rmdir(current).catch(() => {});
    current = path.dirname(current);
  }
}

function isInside(p: string, dir: string): boolean {
  const rel = path.relative(dir, path.resolve(p));
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
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
