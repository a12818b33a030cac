import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { UserError } from "../core/errors.js";
import type { Attempt, StoredTask } from "../core/mini-task.js";
import { shorten } from "../core/render.js";
import { canTransition, transition } from "../core/status.js";
import { writeFileAtomic } from "../store/atomic.js";
import {
  acceptIntentIds,
  clearAcceptIntent,
  readAcceptIntent,
  runningMessage,
  touchTask,
  writeAcceptIntent,
} from "../store/recovery.js";
import type { TaskStore } from "../store/tasks.js";
import { storePath, type Workspace } from "../store/workspace.js";
import { applyToWorkspace, crashPoint, fileBlobs, restoreBlobs } from "./apply.js";
import { DEFAULT_DIFF_MAX_BYTES, diff } from "./diff.js";
import { git } from "./git.js";
import { latestRun } from "./locate.js";
import { gitRoot } from "./repo.js";
import { removeWorktree } from "./worktree.js";

/** The first `maxBytes` of `text`, ending at a line end. */
function cutAtLineEnd(text: string, maxBytes: number): string {
  const head = Buffer.from(text, "utf8")
    .subarray(0, maxBytes)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
  const end = head.lastIndexOf("\n");
  return end > 0 ? head.slice(0, end + 1) : head;
}

/** A whole diff is written to a file up to this size; beyond it the planner uses git itself. */
const DIFF_FILE_MAX_BYTES = 50 * 1024 * 1024;

export interface Review {
  task: StoredTask;
  attempt: Attempt;
  stat: string;
  diff: string;
  truncated: boolean;
  bytes: number;
  /** Workspace-relative path of the whole diff, when the shown one is cut. */
  diffPath?: string;
}

function currentRun(task: StoredTask): Attempt {
  const attempt = latestRun(task);
  if (!attempt)
    throw new UserError(
      `task ${task.id} has not been dispatched yet; call dispatch_to_small_model first.`,
      "task_id",
    );
  return attempt;
}

/** The latest attempt's change, bounded; the whole diff goes to a file when it is cut. */
export async function reviewTask(
  ws: Workspace,
  store: TaskStore,
  id: string,
  maxBytes = DEFAULT_DIFF_MAX_BYTES,
): Promise<Review> {
  const task = await store.get(id);
  const attempt = currentRun(task);
  if (task.status === "accepted" || task.status === "discarded") {
    throw new UserError(
      `task ${id} is ${task.status}; its branch is gone. get_task shows its last attempt.`,
      "task_id",
    );
  }
  if (!attempt.head_commit) {
    return { task, attempt, stat: "", diff: "", truncated: false, bytes: 0 };
  }
  // One git diff: the whole change (up to the file limit), cut in memory for the answer.
  const whole = await diff(await gitRoot(ws.root), attempt.base_commit!, attempt.head_commit, {
    maxBytes: DIFF_FILE_MAX_BYTES,
  });
  const truncated = whole.bytes > maxBytes;
  const review: Review = {
    task,
    attempt,
    stat: whole.stat,
    diff: truncated ? cutAtLineEnd(whole.diff, maxBytes) : whole.diff,
    truncated,
    bytes: whole.bytes,
  };
  if (truncated) {
    const rel = `${ws.dirRel}/${id}.diff`;
    const abs = await storePath(ws, `${id}.diff`);
    await mkdir(dirname(abs), { recursive: true });
    await writeFileAtomic(abs, whole.diff);
    review.diffPath = rel;
  }
  return review;
}

/**
 * Apply the latest passed attempt to the user's working tree (3-way; nothing half-applied on a
 * conflict), optionally commit, then remove the worktree and branch. Idempotent.
 */
export async function acceptTask(
  ws: Workspace,
  store: TaskStore,
  id: string,
  opts: { commit?: boolean } = {},
): Promise<{ task: StoredTask; applied: string[]; commit?: string; already: boolean; note?: string }> {
  const resumed = await resumeAccept(ws, store, id);
  if (resumed.finished) {
    return {
      task: resumed.finished,
      applied: resumed.applied,
      ...(resumed.commit ? { commit: resumed.commit } : {}),
      already: false,
      note: "finished an accept that was interrupted midway",
    };
  }
  const task = await store.get(id);
  if (task.status === "accepted") return { task, applied: [], already: true };
  if (!canTransition(task.status, "accepted")) {
    throw new UserError(
      `task ${id} is ${task.status}; only a passed task can be accepted — review_task it, then re-dispatch or discard_task.`,
      "task_id",
    );
  }
  const attempt = currentRun(task);
  const repo = await gitRoot(ws.root);
  const result = attempt.head_commit
    ? await applyToWorkspace(
        repo,
        { branch: attempt.branch!, base: attempt.base_commit! },
        {
          ...(opts.commit
            ? { commit: true, message: `${task.title}\n\n${commitTrailer(id, attempt.n)}` }
            : {}),
          onPlan: (plan) =>
            writeAcceptIntent(ws, {
              task: id,
              attempt: attempt.n,
              head_commit: attempt.head_commit!,
              commit: opts.commit === true,
              ...plan,
            }),
        },
      )
    : { applied: [] as string[] };
  const updated = await markAccepted(store, id);
  crashPoint("accept-after-status");
  await removeWorktree(repo, id);
  await clearAcceptIntent(ws, id);
  // An empty `applied` alone reads like a failure: say why nothing changed.
  const note =
    result.applied.length > 0
      ? undefined
      : attempt.files_changed.length === 0 || !attempt.head_commit
        ? "the task changed no files; nothing to apply"
        : `its changes (${attempt.files_changed.map((f) => f.path).join(", ")}) are already in your working tree; nothing to apply`;
  return {
    task: updated,
    applied: result.applied,
    ...(result.commit ? { commit: result.commit } : {}),
    already: false,
    ...(note ? { note: shorten(note, 300) } : {}),
  };
}

function commitTrailer(id: string, attempt: number): string {
  return `delegate-mcp task ${id}, attempt ${attempt}`;
}

async function markAccepted(store: TaskStore, id: string): Promise<StoredTask> {
  return store.update(id, (t) => {
    if (t.status !== "accepted") t.status = transition(t.status, "accepted", t.id);
    return t;
  });
}

/**
 * An accept killed midway left its intent: recognise how far it got by its own states and finish it
 * (its commit made, or files-only and every file written: mark accepted, remove the worktree), or
 * put the files back to their bytes before it (the caller then accepts afresh, or the task stays
 * passed). A file changed since by someone else is never overwritten: that is a UserError.
 */
export async function resumeAccept(
  ws: Workspace,
  store: TaskStore,
  id: string,
): Promise<{ finished?: StoredTask; applied: string[]; commit?: string }> {
  const intent = await readAcceptIntent(ws, id);
  if (!intent) return { applied: [] };
  const task = await store.get(id);
  const repo = await gitRoot(ws.root);
  const paths = Object.keys(intent.after);
  const finish = async (commit?: string) => {
    const finished = task.status === "accepted" ? task : await markAccepted(store, id);
    await removeWorktree(repo, id);
    await clearAcceptIntent(ws, id);
    return { finished, applied: paths, ...(commit ? { commit } : {}) };
  };
  if (task.status === "accepted") return finish();
  const attempt = latestRun(task);
  if (
    task.status !== "passed" ||
    attempt?.n !== intent.attempt ||
    attempt.head_commit !== intent.head_commit
  ) {
    // The task moved on (discarded, dispatched again): the intent is stale.
    await clearAcceptIntent(ws, id);
    return { applied: [] };
  }
  if (intent.commit) {
    const made = (
      await git(repo, [
        "log",
        "-n1",
        "--fixed-strings",
        `--grep=${commitTrailer(id, intent.attempt)}`,
        "--format=%H",
        `${intent.head}..HEAD`,
      ])
    ).stdout.trim();
    if (made) return finish(made);
  }
  const now = await fileBlobs(repo, paths);
  const isAfter = paths.every((p) => now[p] === intent.after[p]);
  if (isAfter && !intent.commit) return finish();
  const foreign = paths.filter((p) => now[p] !== intent.before[p] && now[p] !== intent.after[p]);
  const unrestorable = paths.filter((p) => intent.before[p]?.startsWith("not-a-file:"));
  if (foreign.length > 0 || unrestorable.length > 0) {
    throw new UserError(
      `An earlier accept of task ${id} was interrupted midway and ${shorten([...foreign, ...unrestorable].join(", "), 200)} ` +
        "changed since (or cannot be put back); restore those files as you want them, then discard_task or accept again.",
      "task_id",
    );
  }
  await restoreBlobs(repo, intent.before);
  await clearAcceptIntent(ws, id);
  return { applied: [] };
}

/** Start-up repair: every accept a killed process left midway is finished or rolled back. */
export async function resumeAccepts(ws: Workspace, store: TaskStore): Promise<string[]> {
  const done: string[] = [];
  for (const id of await acceptIntentIds(ws)) {
    try {
      const r = await resumeAccept(ws, store, id);
      done.push(
        r.finished
          ? `${id}: finished an interrupted accept`
          : `${id}: rolled back an interrupted accept; accept it again`,
      );
    } catch (err) {
      done.push(`${id}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return done;
}

/** Remove the task's worktree and branch; status discarded. Idempotent. */
export async function discardTask(
  ws: Workspace,
  store: TaskStore,
  id: string,
): Promise<{ task: StoredTask; already: boolean }> {
  const task = await touchTask(store, id);
  if (task.status === "discarded") return { task, already: true };
  if (task.status === "accepted")
    throw new UserError(`task ${id} is already accepted; its changes are in your working tree.`, "task_id");
  if (task.status === "running")
    throw new UserError(`${await runningMessage(ws, id)} Discard it after.`, "task_id");
  // Never dispatched: nothing in git to remove (and the workspace need not be a git repository).
  if (latestRun(task)) await removeWorktree(await gitRoot(ws.root), id);
  const updated = await store.update(id, (t) => {
    t.status = transition(t.status, "discarded", t.id);
    return t;
  });
  return { task: updated, already: false };
}
