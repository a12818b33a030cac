import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { UserError } from "../core/errors.js";
import type { Attempt, StoredTask } from "../core/mini-task.js";
import { shorten } from "../core/render.js";
import { canTransition, transition } from "../core/status.js";
import { writeFileAtomic } from "../store/atomic.js";
import { runningMessage, touchTask } from "../store/recovery.js";
import type { TaskStore } from "../store/tasks.js";
import { storePath, type Workspace } from "../store/workspace.js";
import { applyToWorkspace } from "./apply.js";
import { DEFAULT_DIFF_MAX_BYTES, diff } from "./diff.js";
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
            ? { commit: true, message: `${task.title}\n\ndelegate-mcp task ${id}, attempt ${attempt.n}` }
            : {}),
        },
      )
    : { applied: [] as string[] };
  const updated = await store.update(id, (t) => {
    t.status = transition(t.status, "accepted", t.id);
    return t;
  });
  await removeWorktree(repo, id);
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
