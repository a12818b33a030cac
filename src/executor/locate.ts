import { stat } from "node:fs/promises";
import type { Attempt, StoredTask } from "../core/mini-task.js";

/**
 * The task's current run: its newest attempt that got a worktree and branch (a blocked or
 * refused attempt gets neither). Review, accept, discard, dependents and run_validation all
 * mean this one.
 */
export function latestRun(task: StoredTask): Attempt | undefined {
  return task.attempts.findLast((a) => a.branch !== undefined && a.base_commit !== undefined);
}

/** The workspace directory inside the current run's worktree, if it still exists on disk. */
export async function worktreeOf(task: StoredTask): Promise<string | null> {
  const path = latestRun(task)?.worktree;
  if (!path) return null;
  try {
    return (await stat(path)).isDirectory() ? path : null;
  } catch {
    return null;
  }
}
