/**
 * Accepting a task: its committed change applied to the user's working tree as a three-way merge,
 * optionally committed on top of HEAD, checked before anything is written and rolled back to the
 * previous bytes on any failure midway.
 */
import { lstat, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { notLeftByDependencies } from "./accepted-dependencies.js";
import { namesBetween, writePatch } from "./diff.js";
import { restore, snapshot } from "./file-snapshot.js";
import { APPLY, assertRef, DELEGATE_IDENTITY, GitError, git, splitNul } from "./git.js";
import { indexRecords, restoreIndexEntries, setIndexEntries, workingTreeState } from "./index-entries.js";
import { branchHead, commonDir, gitRoot, headCommit, isAncestor } from "./repo.js";
import type { WorktreeInfo } from "./worktree.js";

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
  opts: { commit?: boolean; message?: string; onPlan?: (plan: AcceptPlan) => Promise<void> } = {},
): Promise<{ applied: string[]; commit?: string }> {
  const root = await gitRoot(repo);
  assertRef(wt.base, "base");
  const taskHead = await branchHead(root, wt.branch, "branch");
  const userHead = await headCommit(root);
  const touched = await namesBetween(root, wt.base, taskHead);
  if (touched.length === 0) return { applied: [] };

  // Scratch index and patch inside the repository's git dir, not the system temp dir: a process
  // killed mid-accept leaves nothing outside the repository.
  const tmp = await mkdtemp(path.join(await commonDir(root), "delegate-apply-"));
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

    // 5. Write, keeping the previous bytes and index entries to roll back to; HEAD moves last. The
    //    plan is recorded first, so a process killed midway can be finished or rolled back later.
    const before = await snapshot(root, applied);
    await opts.onPlan?.({
      head: userHead,
      before: await fileBlobs(root, applied),
      after: await treeBlobs(root, mergedTree, applied),
    });
    crashPoint("accept-after-intent");
    const indexBefore = committed.length > 0 ? await indexRecords(root, committed) : [];
    let indexSet = false;
    try {
      if (applied.length > 0) await git(root, ["apply", ...APPLY, patch]);
      await verifyFiles(root, mergedTree, applied);
      crashPoint("accept-after-files");
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
        crashPoint("accept-after-commit");
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

/**
 * What an accept is about to write: each path's blob before and after (null: absent), and HEAD
 * before. Recorded before the first write, so a killed accept is recognised by its own states.
 */
export interface AcceptPlan {
  head: string;
  before: Record<string, string | null>;
  after: Record<string, string | null>;
}

/**
 * Tests kill the process at a named point of an accept (DELEGATE_TEST_CRASH_AT) to prove it resumes;
 * SIGKILL, as a crash gives no chance to clean up.
 */
export function crashPoint(name: string): void {
  if (process.env.DELEGATE_TEST_CRASH_AT === name) process.kill(process.pid, "SIGKILL");
}

/** The blob of each working-tree file (written to the object store), null when absent. */
export async function fileBlobs(root: string, paths: string[]): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  const present: string[] = [];
  for (const p of paths) {
    const st = await lstat(path.join(root, p)).catch(() => null);
    if (st === null) out[p] = null;
    else if (st.isFile()) present.push(p);
    else out[p] = `not-a-file:${st.mode}`;
  }
  if (present.length > 0) {
    const hashes = (
      await git(root, ["hash-object", "-w", "--stdin-paths"], { input: `${present.join("\n")}\n` })
    ).stdout
      .trim()
      .split("\n");
    present.forEach((p, i) => {
      out[p] = hashes[i]!;
    });
  }
  return out;
}

async function treeBlobs(
  root: string,
  tree: string,
  paths: string[],
): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = Object.fromEntries(paths.map((p) => [p, null]));
  const listing = splitNul((await git(root, ["ls-tree", "-z", tree, "--", ...paths])).stdout);
  for (const line of listing) out[line.slice(line.indexOf("\t") + 1)] = line.split(" ")[2]!.split("\t")[0]!;
  return out;
}

/** Puts each path back to `blobs` (a blob's bytes, or absent). */
export async function restoreBlobs(root: string, blobs: Record<string, string | null>): Promise<void> {
  for (const [p, blob] of Object.entries(blobs)) {
    const abs = path.join(root, p);
    if (blob === null) {
      await rm(abs, { force: true });
      continue;
    }
    const bytes = (await git(root, ["cat-file", "blob", blob])).raw;
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, bytes);
  }
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

async function unmergedPaths(root: string, env: Record<string, string>): Promise<string[]> {
  const out = await git(root, ["ls-files", "--unmerged", "-z"], { env });
  return [...new Set(splitNul(out.stdout).map((record) => record.slice(record.indexOf("\t") + 1)))];
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

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

function list(paths: string[]): string {
  const shown = paths.slice(0, 10).join(", ");
  return paths.length > 10 ? `${shown} and ${paths.length - 10} more` : shown;
}
