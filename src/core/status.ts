/**
 * The one owner of a task's status: which status may follow which. Dispatch, escalation, the end
 * of an attempt, accept, discard and start-up recovery all set a status through `transition`, so
 * an illegal change is a bug that throws instead of silently overwriting what another step wrote.
 *
 * DESIGN: ready → running → passed | failed | budget_exceeded | cancelled | error → accepted |
 * discarded; blocked when a dependency failed. Every status but accepted (and running, which
 * must finish first) may be dispatched again or discarded; a task is accepted only once it passed.
 */
import type { TaskStatus } from "./mini-task.js";

/** A new task's status. */
export const INITIAL_STATUS = "ready" satisfies TaskStatus;

/** What a finished attempt leaves the task in (blocked: a dependency did not pass, nothing ran). */
export const ATTEMPT_OUTCOMES = [
  "passed",
  "failed",
  "budget_exceeded",
  "cancelled",
  "error",
  "blocked",
] as const satisfies readonly TaskStatus[];

const REDISPATCH_OR_DISCARD = ["running", "discarded"] as const;

/** For each status, the statuses that may follow it. */
export const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  ready: REDISPATCH_OR_DISCARD,
  running: ATTEMPT_OUTCOMES,
  // passed ⇄ failed without a model call: run_validation amend re-checks the same attempt with corrected commands.
  passed: ["running", "accepted", "discarded", "failed"],
  failed: [...REDISPATCH_OR_DISCARD, "passed"],
  budget_exceeded: REDISPATCH_OR_DISCARD,
  cancelled: REDISPATCH_OR_DISCARD,
  error: REDISPATCH_OR_DISCARD,
  blocked: REDISPATCH_OR_DISCARD,
  accepted: [],
  discarded: ["running"],
};

/** A status change the table does not allow: a bug in the caller, never a caller's mistake. */
export class IllegalTransitionError extends Error {
  readonly from: TaskStatus;
  readonly to: TaskStatus;

  constructor(from: TaskStatus, to: TaskStatus, taskId?: string) {
    super(
      `illegal task status change${taskId ? ` of ${taskId}` : ""}: ${from} → ${to} (allowed from ${from}: ${TRANSITIONS[from]?.join(", ") || "none"}).`,
    );
    this.name = "IllegalTransitionError";
    this.from = from;
    this.to = to;
  }
}

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from]?.includes(to) ?? false;
}

/** `to`, when the table allows it after `from`; throws IllegalTransitionError otherwise. */
export function transition(from: TaskStatus, to: TaskStatus, taskId?: string): TaskStatus {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to, taskId);
  return to;
}
