import { describe, expect, it } from "vitest";
import { evaluateGoals, GOALS, goalSummary } from "../../../bench/goals.js";
import { referenceProblem, runsOf, singleRunTimedRows } from "../../../bench/reference.js";
import type { BenchRow } from "../../../bench/types.js";
import { overheadRow } from "../../../bench/validation.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("reference sanity check", () => {
  it("marks the row 'reference broken' and not met when the reference is slower than any plain spawn", async () => {
    // A reference that sleeps 80 ms can never time under the plausible 50 ms: no timing margin involved.
    const rows = await overheadRow({
      iterations: 3,
      warmup: 0,
      ours: async () => {},
      reference: () => sleep(80),
    });
    const row = rows.find((r) => r.goal === "validation.runner-overhead")!;
    expect(row.referenceBroken).toMatch(/above the plausible 50 ms/);
    const result = evaluateGoals(rows).find((r) => r.id === "validation.runner-overhead")!;
    // The ratio is tiny (ours does nothing), yet the goal is not met.
    expect(row.ratio!).toBeLessThan(1);
    expect(result.verdict).toBe("reference broken");
  });

  it("passes a reference inside its range and names the bound it broke otherwise", () => {
    expect(referenceProblem(runsOf([2, 3, 4]), { what: "spawn", max: 50, unit: "ms" })).toBeUndefined();
    expect(referenceProblem(5, { what: "server start", min: 20, unit: "ms" })).toBe(
      "server start: median 5 ms is below the plausible 20 ms",
    );
  });

  it("refuses a timed figure of fewer than 3 runs", () => {
    expect(() => runsOf([1, 2])).toThrow(/at least 3 runs/);
  });

  it("names the timed rows that carry no runs, and only those", () => {
    const rows: BenchRow[] = [
      { group: "g", name: "once", value: 5, unit: "ms" },
      { group: "g", name: "spread", value: 5, unit: "ms", runs: runsOf([4, 5, 6]) },
      { group: "g", name: "rate", value: 900, unit: "records/s" },
      { group: "g", name: "size", value: 40, unit: "tokens" },
    ];
    expect(singleRunTimedRows(rows)).toEqual(["g: once", "g: rate"]);
  });
});

describe("goal table", () => {
  const row = (goal: BenchRow["goal"], value: number, extra: Partial<BenchRow> = {}): BenchRow => ({
    group: "g",
    name: String(goal),
    value,
    unit: "ms",
    goal,
    ...extra,
  });

  it("counts every goal: one with no row is 'not measured' and not met, listed before the met ones", () => {
    const results = evaluateGoals([row("validation.deadline", 30)]);
    const summary = goalSummary(results);
    expect(summary.total).toBe(Object.keys(GOALS).length);
    expect(summary.met).toBe(1);
    expect(results.at(-1)!.id).toBe("validation.deadline");
    expect(results.find((r) => r.id === "cost.savings")!.verdict).toBe("not measured");
  });

  it("judges ratio, value and excess goals from the table, not from the bench", () => {
    const results = evaluateGoals([
      row("cost.savings", 18.8, { unit: "%" }),
      row("server.first-call-time", 900, { reference: 467, ratio: 1.93 }),
      row("server.get-task-p50", 5, { reference: 4 }),
    ]);
    const verdict = (id: string) => results.find((r) => r.id === id)!.verdict;
    expect(verdict("cost.savings")).toBe("not met");
    expect(verdict("server.first-call-time")).toBe("not met");
    expect(verdict("server.get-task-p50")).toBe("met");
  });

  it("refuses rows that name an unknown goal or measure one goal twice", () => {
    expect(() => evaluateGoals([row("nope" as BenchRow["goal"], 1)])).toThrow(/unknown goal/);
    expect(() => evaluateGoals([row("validation.deadline", 1), row("validation.deadline", 2)])).toThrow(
      /two bench rows/,
    );
  });
});
