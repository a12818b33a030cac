/**
 * What an attempt changed, recorded on its branch: commit everything in the worktree as
 * delegate-mcp, list the changed files against the attempt's base, and revert the paths the
 * executor was not allowed to touch.
 */
import { copyFile, mkdtemp, realpath, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { isWithin } from "../store/safe-path.js";
import { removeEmptyDirs } from "./file-snapshot.js";
import {
  assertRef,
  assertRepoPath,
  DELEGATE_IDENTITY,
  DIFF_HARDENING,
  GitError,
  git,
  splitNul,
} from "./git.js";
import { gitSequence } from "./git-sequence.js";
import type { WorktreeInfo } from "./worktree.js";

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
  await stageAndCommit(wt, message);
  return (await git(wt.path, ["rev-parse", "HEAD"])).stdout.trim();
}

/** `git add --all` and a commit as delegate-mcp; nothing to commit is not an error. */
async function stageAndCommit(wt: WorktreeInfo, message: string): Promise<void> {
  assertMessage(message);
  await git(wt.path, ["add", "--all"]);
  const commit = await git(wt.path, COMMIT, { input: message, env: DELEGATE_IDENTITY, okExitCodes: [0, 1] });
  assertCommitted(commit.exitCode, commit.stdout + commit.stderr);
}

const COMMIT = ["commit", "--quiet", "--no-verify", "--no-gpg-sign", "--file=-"];

function assertMessage(message: string): void {
  if (typeof message !== "string" || message.trim() === "") {
    throw new UserError("commit message is empty; give one.", "message");
  }
}

/** A commit's exit code 1 is an answer only when git says there was nothing to commit. */
function assertCommitted(exitCode: number, output: string): void {
  if (exitCode !== 0 && !/nothing (added )?to commit/.test(output)) {
    throw new GitError(COMMIT, exitCode, output);
  }
}

/**
 * Commit everything the attempt changed and list the change against the base: the dispatcher's
 * hot path, so one child process of the server (git-sequence.ts: add, commit, show in one sh)
 * where changedFiles + commitAll take nine. `git show` prints HEAD, its parents and its own
 * numstat at once; when HEAD's one parent is the base (the usual case) that numstat is the change
 * against the base. Otherwise (nothing was committed, or a CLI executor made commits of its own)
 * HEAD tells which, and a diff against the base lists the files. Files come as in changedFiles,
 * without a status (no caller needs one). `head` is null when nothing changed.
 */
export async function commitAndList(
  wt: WorktreeInfo,
  message: string,
): Promise<{ head: string | null; files: Omit<ChangedFile, "status">[] }> {
  assertRef(wt.base, "base");
  assertMessage(message);
  const ran = await gitSequence(
    wt.path,
    [
      { args: ["add", "--all"] },
      { args: COMMIT, okExitCodes: [0, 1], stdin: true },
      {
        args: ["show", "--format=%H %P", "--numstat", "--no-renames", "-z", ...DIFF_HARDENING, "HEAD", "--"],
      },
    ],
    { input: message, env: DELEGATE_IDENTITY },
  );
  // The commit's own output went to the sequence's stderr.
  assertCommitted(ran.exitCodes[1]!, ran.stderr);
  const shown = splitNul(ran.stdout);
  // With -z: "<HEAD> <parents>", then the numstat records, the first after a newline.
  const [head = "", ...parents] = (shown.shift() ?? "").trim().split(" ");
  if (head === wt.base) return { head: null, files: [] };
  const onBase = parents.length === 1 && parents[0] === wt.base;
  const records = onBase
    ? shown.map((record, i) => (i === 0 ? record.replace(/^\n/, "") : record))
    : splitNul(
        (
          await git(wt.path, [
            "diff",
            "--numstat",
            "--no-renames",
            "-z",
            ...DIFF_HARDENING,
            wt.base,
            head,
            "--",
          ])
        ).stdout,
      );
  return { head, files: numstatFiles(records) };
}

/** `--numstat -z` records (added, removed, path) as files sorted by path; binary counts as -1. */
function numstatFiles(records: string[]): Omit<ChangedFile, "status">[] {
  const files: Omit<ChangedFile, "status">[] = [];
  for (const record of records) {
    const [added, removed, ...rest] = record.split("\t");
    const file = rest.join("\t");
    if (!file) continue;
    files.push({
      path: file,
      added: added === "-" ? -1 : Number(added),
      removed: removed === "-" ? -1 : Number(removed),
    });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
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
 * Tracked files whose content differs from the branch's last commit: what a validation command
 * edited after the attempt was committed (`eslint --fix`, `sed -i`). Restored to the commit, so
 * the branch, the worktree and what was validated stay one thing.
 */
export async function undoEditsSinceCommit(wt: WorktreeInfo): Promise<string[]> {
  const edited = splitNul(
    (await git(wt.path, ["diff", "--name-only", "-z", "--no-renames", ...DIFF_HARDENING, "HEAD", "--"]))
      .stdout,
  );
  if (edited.length > 0) await git(wt.path, ["checkout", "--quiet", "HEAD", "--", ...edited]);
  return edited;
}
