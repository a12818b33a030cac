import type { Config } from "../config/schema.js";
import { isUserError, messageOf } from "../core/errors.js";
import type { StoredTask } from "../core/mini-task.js";
import { log } from "../log.js";
import { selectTasks, type TaskSelection } from "../store/task-selection.js";
import type { TaskStore } from "../store/tasks.js";
import type { Workspace } from "../store/workspace.js";
import type { TaskResult } from "./attempt-result.js";
import type { Dispatcher, DispatchOptions } from "./dispatch.js";
import { acceptTask, reviewTask } from "./review.js";

/** The diff a failing task carries with include_diff (≈ 1,500 tokens); the whole one goes to a file. */
export const FAILING_DIFF_BYTES = 6000;

export interface AfterRunOptions {
  /** "on_pass": apply each task that passed with nothing out of scope to the working tree. */
  accept?: "on_pass" | undefined;
  /** Failing tasks carry their bounded diff. */
  includeDiff?: boolean | undefined;
}

/**
 * Select (creating inline specs first) and prepare the tasks of one dispatch call. Tasks created
 * by this call are removed again when the dispatch is refused (no key, not a git repository), so
 * a refused call leaves nothing behind.
 */
export async function startBatch(
  dispatcher: Dispatcher,
  ws: Workspace,
  store: TaskStore,
  config: Config,
  selection: TaskSelection,
  opts: DispatchOptions,
): Promise<{ tasks: StoredTask[]; attempts: Map<string, number> }> {
  const { ids, created } = await selectTasks(ws, store, config, selection);
  try {
    return await dispatcher.prepare(ids, opts);
  } catch (err) {
    await Promise.all(created.map((id) => store.discardNew(id).catch(() => {})));
    throw err;
  }
}

export interface BatchItem extends TaskResult {
  /** Paths applied to the working tree (accept "on_pass"). */
  applied?: string[];
  /** Why a passing task was not applied (a conflict with local changes, say). */
  not_applied?: string;
  diff?: string;
  diff_path?: string;
}

/**
 * What the dispatch call does after the run, so the planner decides from one answer: apply the
 * tasks that passed cleanly (in the order given: a dependent after its dependency), and attach
 * the bounded diff to failing ones.
 */
export async function afterRun(
  ws: Workspace,
  store: TaskStore,
  results: TaskResult[],
  opts: AfterRunOptions,
): Promise<BatchItem[]> {
  const items: BatchItem[] = [];
  for (const r of results) {
    const item: BatchItem = { ...r };
    if (opts.accept === "on_pass" && r.status === "passed" && !r.out_of_scope?.length) {
      try {
        const accepted = await acceptTask(ws, store, r.task_id);
        item.status = accepted.task.status;
        item.applied = accepted.applied;
      } catch (err) {
        if (!isUserError(err)) log.error(`accept on_pass of ${r.task_id} failed: ${messageOf(err)}`);
        item.not_applied = messageOf(err);
      }
    } else if (opts.includeDiff && r.status !== "passed" && r.status !== "blocked") {
      try {
        const review = await reviewTask(ws, store, r.task_id, FAILING_DIFF_BYTES);
        if (review.diff) item.diff = review.diff;
        if (review.diffPath) item.diff_path = review.diffPath;
      } catch (err) {
        if (!isUserError(err)) log.error(`diff of ${r.task_id} failed: ${messageOf(err)}`);
        item.diff = `(no diff: ${messageOf(err)})`;
      }
    }
    items.push(item);
  }
  return items;
}
