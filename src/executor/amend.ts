import { UserError } from "../core/errors.js";
import type { StoredTask, ValidationCommand } from "../core/mini-task.js";
import { transition } from "../core/status.js";
import type { TaskStore } from "../store/tasks.js";
import type { ValidationRun } from "../validation/runner.js";
import { summarizeValidation } from "./attempt-result.js";
import { latestRun, worktreeOf } from "./locate.js";

/** Statuses whose latest attempt finished with its work committed: a wrong check can be put right. */
const AMENDABLE = new Set(["failed", "passed"]);

/**
 * A task that failed only because its validation commands were wrong, put right without paying
 * the model again: the new commands replace the task's validation, run on the latest attempt's
 * worktree, and decide the status (passed → accept_task applies it). The change is recorded in
 * `task.amendments`.
 */
export async function amendValidation(
  store: TaskStore,
  id: string,
  commands: ValidationCommand[],
  run: (cwd: string) => Promise<ValidationRun>,
  now: () => Date = () => new Date(),
): Promise<{ task: StoredTask; run: ValidationRun; worktree: string }> {
  const task = await store.get(id);
  if (!AMENDABLE.has(task.status))
    throw new UserError(
      `task ${id} is ${task.status}; amend re-checks a failed or passed attempt — dispatch it first, or create a new task.`,
      "amend",
    );
  const attempt = latestRun(task);
  const worktree = await worktreeOf(task);
  if (!attempt || !worktree)
    throw new UserError(`task ${id} has no worktree to re-check; dispatch it again instead.`, "amend");
  const result = await run(worktree);
  const updated = await store.update(
    id,
    (t) => {
      const a = t.attempts.find((x) => x.n === attempt.n);
      // A dispatch that started meanwhile owns the task now; its own validation decides.
      if (!AMENDABLE.has(t.status) || latestRun(t)?.n !== attempt.n || !a)
        throw new UserError(
          `task ${id} changed while its new validation ran (now ${t.status}); amend again.`,
          "amend",
        );
      t.amendments = [
        ...(t.amendments ?? []),
        {
          at: now().toISOString(),
          attempt: attempt.n,
          from: t.validation,
          to: commands,
          passed: result.passed,
        },
      ];
      t.validation = commands;
      a.validation = summarizeValidation(result);
      const next = result.passed ? "passed" : "failed";
      a.status = next;
      if (t.status !== next) t.status = transition(t.status, next, id);
      return t;
    },
    now(),
  );
  return { task: updated, run: result, worktree };
}
