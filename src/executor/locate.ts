import { stat } from "node:fs/promises";
import type { StoredTask } from "../core/mini-task.js";

/** The worktree of the task's latest attempt, if it still exists on disk. */
export async function worktreeOf(task: StoredTask): Promise<string | null> {
  const path = task.attempts[task.attempts.length - 1]?.worktree;
  if (!path) return null;
  try {
    return (await stat(path)).isDirectory() ? path : null;
  } catch {
    return null;
  }
}
