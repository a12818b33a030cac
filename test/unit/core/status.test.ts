import { describe, expect, it } from "vitest";
import { TASK_STATUSES, type TaskStatus } from "../../../src/core/mini-task.js";
import {
  canTransition,
  IllegalTransitionError,
  INITIAL_STATUS,
  TRANSITIONS,
  transition,
} from "../../../src/core/status.js";

/** The legal changes, written out by hand from DESIGN (and the re-dispatch and discard rules). */
const LEGAL: [TaskStatus, TaskStatus][] = [
  ["ready", "running"],
  ["ready", "discarded"],
  ["running", "passed"],
  ["running", "failed"],
  ["running", "budget_exceeded"],
  ["running", "cancelled"],
  ["running", "error"],
  ["running", "blocked"],
  ["passed", "accepted"],
  ["passed", "discarded"],
  ["passed", "running"],
  ["passed", "failed"], // run_validation amend: the corrected check fails on the same attempt
  ["failed", "running"],
  ["failed", "passed"], // run_validation amend: the corrected check passes, no model call
  ["failed", "discarded"],
  ["budget_exceeded", "running"],
  ["budget_exceeded", "discarded"],
  ["cancelled", "running"],
  ["cancelled", "discarded"],
  ["error", "running"],
  ["error", "discarded"],
  ["blocked", "running"],
  ["blocked", "discarded"],
  ["discarded", "running"],
];
const key = (from: TaskStatus, to: TaskStatus) => `${from} → ${to}`;
const legal = new Set(LEGAL.map(([from, to]) => key(from, to)));
const allPairs = TASK_STATUSES.flatMap((from) => TASK_STATUSES.map((to) => [from, to] as const));

describe("task status transitions", () => {
  it("a new task is ready", () => {
    expect(INITIAL_STATUS).toBe("ready");
  });

  it("the table has a row for every status, and exactly the legal changes", () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...TASK_STATUSES].sort());
    const inTable = Object.entries(TRANSITIONS).flatMap(([from, tos]) =>
      tos.map((to) => key(from as TaskStatus, to)),
    );
    expect(inTable.sort()).toEqual([...legal].sort());
  });

  it.each(LEGAL)("allows %s → %s", (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(transition(from, to, "p/01-a")).toBe(to);
  });

  it("throws on every other change, naming the task and both statuses", () => {
    const illegal = allPairs.filter(([from, to]) => !legal.has(key(from, to)));
    // 10 statuses → 100 pairs, 24 legal.
    expect(illegal).toHaveLength(76);
    for (const [from, to] of illegal) {
      expect(canTransition(from, to)).toBe(false);
      let thrown: unknown;
      try {
        transition(from, to, "p/01-a");
      } catch (err) {
        thrown = err;
      }
      expect(thrown, key(from, to)).toBeInstanceOf(IllegalTransitionError);
      expect((thrown as Error).message).toContain(`p/01-a: ${from} → ${to}`);
    }
  });

  it("nothing follows accepted, and no status follows itself", () => {
    expect(TRANSITIONS.accepted).toEqual([]);
    for (const s of TASK_STATUSES) expect(() => transition(s, s)).toThrow(IllegalTransitionError);
  });

  it("a status outside the table (a hand-edited task file) is refused, not crashed on", () => {
    expect(canTransition("done" as TaskStatus, "running")).toBe(false);
    expect(() => transition("done" as TaskStatus, "running")).toThrow(IllegalTransitionError);
  });
});
