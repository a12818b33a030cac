import { describe, expect, it } from "vitest";
import { computeSavings } from "../../../src/core/savings.js";
import { RESULT_BUDGET_BYTES } from "../../../src/tools/budget.js";
import { boundedReport, TASKS_MAX } from "../../../src/tools/savings-report.js";
import { varied } from "../ledger/fixtures/entries.js";

function reportWith(tasks: number, models = 3) {
  const entries = Array.from({ length: tasks * 2 }, (_, i) => ({
    ...varied(i),
    project: "demo",
    phase: "execution" as const,
    task: `demo/${String((i % tasks) + 1).padStart(2, "0")}-a-task-with-a-long-descriptive-slug`,
    attempt: 1,
    model: `model-${i % models}`,
    cost_usd: i % models === 0 ? null : 0.001,
  }));
  return computeSavings({
    project: "demo",
    entries,
    plannerModel: "claude-sonnet-4-5",
    plannerPrice: { input_per_mtok: 3, output_per_mtok: 15 },
    tasks: [],
  });
}

const size = (r: { structured: unknown; text: string }) => ({
  structured: Buffer.byteLength(JSON.stringify(r.structured)),
  text: Buffer.byteLength(r.text),
});

describe("savings_report answer", () => {
  it.each([10, 3_000])("stays under the result budget, text and structured, with %i tasks", (n) => {
    const r = boundedReport(reportWith(n), "mini-projects/demo/LOG.md");
    const { structured, text } = size(r);
    expect(structured).toBeLessThanOrEqual(RESULT_BUDGET_BYTES);
    expect(text).toBeLessThanOrEqual(RESULT_BUDGET_BYTES);
    expect(r.structured.tasks.length).toBe(Math.min(n, TASKS_MAX));
    if (n > TASKS_MAX)
      expect(r.structured.warnings).toContain(
        `${n - TASKS_MAX} more task(s) are in mini-projects/demo/LOG.md.`,
      );
  });

  it("stays under the budget with thousands of unpriced model ids (log_tokens takes any)", () => {
    const r = boundedReport(reportWith(2_000, 2_000), "mini-projects/demo/LOG.md");
    const { structured, text } = size(r);
    expect(structured).toBeLessThanOrEqual(RESULT_BUDGET_BYTES);
    expect(text).toBeLessThanOrEqual(RESULT_BUDGET_BYTES);
    expect(r.structured.warnings.some((w) => /more model\(s\) are in/.test(w))).toBe(true);
  });
});
