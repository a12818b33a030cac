import { describe, expect, it } from "vitest";
import { computeSavings, type SavingsInput } from "../../../src/core/savings.js";
import { savingsReportSchema } from "../../../src/core/savings-report.js";
import { entry } from "./fixtures/entries.js";
import { workedEntries } from "./fixtures/worked-example.js";

const SONNET = { input_per_mtok: 3, output_per_mtok: 15 };

function report(over: Partial<SavingsInput> = {}) {
  const r = computeSavings({
    project: "worked",
    entries: workedEntries(),
    plannerModel: "claude-sonnet-4-5",
    plannerPrice: SONNET,
    tasks: [],
    ...over,
  });
  expect(savingsReportSchema.safeParse(r).success).toBe(true);
  return r;
}

describe("computeSavings: the workflow document's worked example", () => {
  it("reproduces actual $0.58425, baseline $1.035, savings $0.45075 = 43.55 %", () => {
    const r = report();
    expect(r.actual_cost_usd).toBeCloseTo(0.58425, 9);
    expect(r.counterfactual_basis).toBe("baseline_estimate");
    expect(r.counterfactual_cost_usd).toBeCloseTo(1.035, 9);
    expect(r.savings_usd).toBeCloseTo(0.45075, 9);
    expect(r.savings_pct).toBeCloseTo((0.45075 / 1.035) * 100, 9);
    expect(r.savings_pct!.toFixed(1)).toBe("43.6");
    expect(r.baseline_estimate).toEqual({
      input_tokens: 165_000,
      output_tokens: 36_000,
      cost_usd: 1.035,
      records: 1,
    });
  });

  it("always shows the lower bound: exploration (in both) + executor tokens at Sonnet rates, no delegation overhead", () => {
    // exploration 0.27; (22k in, 7k out) at $3/$15 = 0.171; planning 0.24 and verification 0.06 are actual only
    expect(report().repriced_counterfactual_usd).toBeCloseTo(0.441, 9);
  });

  it("without a baseline or a transcript, uses the lower bound, which here says delegation cost more", () => {
    const r = report({ entries: workedEntries().filter((e) => e.phase !== "baseline_estimate") });
    expect(r.counterfactual_basis).toBe("lower_bound");
    expect(r.baseline_estimate).toBeNull();
    expect(r.modelled_counterfactual_usd).toBeNull();
    expect(r.counterfactual_cost_usd).toBeCloseTo(0.441, 9);
    expect(r.savings_usd).toBeCloseTo(0.441 - 0.58425, 9);
    expect(r.savings_pct).toBeCloseTo(((0.441 - 0.58425) / 0.441) * 100, 9);
    expect(r.verdict).toMatch(/^Delegation cost more here: \$0\.14325 more than a lower bound/);
    expect(r.verdict).toContain("the largest term is delegation");
    expect(r.terms.find((t) => t.side === "counterfactual")).toMatchObject({
      term: "executor tokens at planner rates",
      usd: 0.171,
      detail: "lower bound, planner context unknown (re-priced at claude-sonnet-4-5)",
    });
  });

  it("breaks usage down by phase and by model, baseline excluded", () => {
    const r = report();
    expect(r.by_phase.map((p) => [p.phase, p.input_tokens, p.output_tokens, p.records])).toEqual([
      ["exploration", 40_000, 10_000, 1],
      ["planning", 20_000, 12_000, 1],
      ["execution", 18_000, 6_000, 1],
      ["testing", 4_000, 1_000, 1],
      ["verification", 10_000, 2_000, 1],
    ]);
    expect(r.by_phase.find((p) => p.phase === "execution")!.cost_usd).toBeCloseTo(0.012, 9);
    expect(r.by_model.map((m) => m.model)).toEqual(["claude-sonnet-4-5", "claude-haiku-4-5"]);
    expect(r.by_model[0]!.cost_usd).toBeCloseTo(0.57, 9);
    expect(r.by_model[1]!.cost_usd).toBeCloseTo(0.01425, 9);
    expect(r.totals).toMatchObject({ input_tokens: 92_000, output_tokens: 31_000, records: 5 });
    expect(r.totals.unpriced_records).toBeUndefined();
  });

  it("starts with the contract's keys, in order", () => {
    expect(Object.keys(report()).slice(0, 8)).toEqual([
      "project",
      "actual_cost_usd",
      "counterfactual_cost_usd",
      "savings_usd",
      "savings_pct",
      "by_phase",
      "by_model",
      "tasks",
    ]);
  });
});

describe("computeSavings", () => {
  it("answers for an empty project with zeros and nulls", () => {
    const r = report({ entries: [], project: "nothing" });
    expect(r).toMatchObject({
      project: "nothing",
      actual_cost_usd: 0,
      counterfactual_cost_usd: 0,
      savings_usd: 0,
      savings_pct: null,
      by_phase: [],
      by_model: [],
      tasks: [],
      counterfactual_basis: "lower_bound",
      baseline_estimate: null,
      totals: { input_tokens: 0, output_tokens: 0, cost_usd: 0, records: 0 },
      warnings: [],
    });
  });

  it("ignores records of other projects", () => {
    const r = report({ entries: [...workedEntries(), entry({ project: "other", cost_usd: 100 })] });
    expect(r.actual_cost_usd).toBeCloseTo(0.58425, 9);
    expect(r.totals.records).toBe(5);
  });

  it("never counts an unpriced record as 0: it is left out, counted, and named in a warning", () => {
    const local = entry({
      project: "worked",
      model: "qwen2.5-coder",
      provider: "openai-compatible",
      cost_usd: null,
    });
    const r = report({ entries: [...workedEntries(), local, { ...local, task: "worked/01-split" }] });
    expect(r.actual_cost_usd).toBeCloseTo(0.58425, 9);
    expect(r.totals.unpriced_records).toBe(2);
    const qwen = r.by_model.find((m) => m.model === "qwen2.5-coder")!;
    expect(qwen.cost_usd).toBeNull();
    expect(qwen.unpriced_records).toBe(2);
    expect(r.by_phase.find((p) => p.phase === "execution")).toMatchObject({
      records: 3,
      unpriced_records: 2,
    });
    expect(r.warnings.some((w) => w.includes("qwen2.5-coder") && w.includes("2 records"))).toBe(true);
    expect(r.warnings.some((w) => w.includes("lower bound"))).toBe(true);
  });

  it("has a null actual and null savings when nothing is priced", () => {
    const r = report({ entries: [entry({ project: "worked", cost_usd: null })] });
    expect(r.actual_cost_usd).toBeNull();
    expect(r.savings_usd).toBeNull();
    expect(r.savings_pct).toBeNull();
  });

  it("cannot re-price without the planner's price and says so", () => {
    const entries = workedEntries().filter((e) => e.phase !== "baseline_estimate");
    const r = report({ entries, plannerPrice: null });
    expect(r.repriced_counterfactual_usd).toBeNull();
    expect(r.counterfactual_cost_usd).toBeNull();
    expect(r.savings_usd).toBeNull();
    expect(r.warnings.some((w) => w.includes("claude-sonnet-4-5") && w.includes("no known price"))).toBe(
      true,
    );
    // A priced baseline still answers.
    expect(report({ plannerPrice: null }).savings_usd).toBeCloseTo(0.45075, 9);
  });

  it("falls back to re-pricing when the baseline itself is unpriced", () => {
    const entries = workedEntries().map((e) =>
      e.phase === "baseline_estimate" ? { ...e, cost_usd: null } : e,
    );
    const r = report({ entries });
    expect(r.counterfactual_basis).toBe("lower_bound");
    expect(r.counterfactual_cost_usd).toBeCloseTo(0.441, 9);
    expect(r.baseline_estimate).toMatchObject({ cost_usd: null, unpriced_records: 1 });
  });

  it("re-prices the executor's cache tokens at the planner's cache rates", () => {
    const e = entry({
      project: "p",
      input_tokens: 1_000_000,
      output_tokens: 0,
      cache_read_tokens: 1_000_000,
      cache_write_tokens: 1_000_000,
      cost_usd: 1,
    });
    const price = {
      input_per_mtok: 3,
      output_per_mtok: 15,
      cache_read_per_mtok: 0.3,
      cache_write_per_mtok: 3.75,
    };
    const r = report({ project: "p", entries: [e], plannerPrice: price });
    expect(r.repriced_counterfactual_usd).toBeCloseTo(3 + 0.3 + 3.75, 9);
    expect(r.totals).toMatchObject({ cache_read_tokens: 1_000_000, cache_write_tokens: 1_000_000 });
  });

  it("compares each task's estimate with its actual, and counts attempts and escalations", () => {
    const t = "worked/02-rename";
    const entries = [
      ...workedEntries(),
      entry({
        project: "worked",
        task: t,
        attempt: 1,
        input_tokens: 3000,
        output_tokens: 500,
        cost_usd: 0.001,
      }),
      entry({
        project: "worked",
        task: t,
        attempt: 1,
        input_tokens: 1000,
        output_tokens: 100,
        cost_usd: 0.0005,
      }),
      entry({
        project: "worked",
        task: t,
        attempt: 2,
        escalation: true,
        model: "claude-sonnet-4-5",
        input_tokens: 500,
        cache_read_tokens: 500,
        output_tokens: 400,
        cost_usd: 0.0015,
      }),
    ];
    const r = report({
      entries,
      tasks: [
        {
          id: t,
          status: "passed",
          estimate: { input_tokens: 4000, output_tokens: 800, cost_usd: 0.002, model: "haiku" },
        },
        { id: "worked/03-idle", status: "ready", estimate: null },
      ],
    });
    const row = r.tasks.find((x) => x.id === t)!;
    expect(row).toMatchObject({
      status: "passed",
      attempts: 2,
      escalations: 1,
      actual: {
        input_tokens: 4500,
        output_tokens: 1000,
        cache_read_tokens: 500,
        records: 3,
        cost_usd: 0.003,
      },
      // input 5000 vs 4000 (cache reads count), output 1000 vs 800, cost 0.003 vs 0.002
      error_pct: { input: 25, output: 25, cost: 50 },
    });
    expect(r.tasks.find((x) => x.id === "worked/03-idle")).toEqual({
      id: "worked/03-idle",
      status: "ready",
      estimate: null,
      actual: { input_tokens: 0, output_tokens: 0, cost_usd: 0, records: 0 },
      attempts: 0,
      escalations: 0,
    });
    // Records of a task the store does not know are listed, not hidden.
    expect(r.tasks.find((x) => x.id === "worked/01-split")).toMatchObject({ status: "unknown", attempts: 1 });
  });

  it("passes ledger warnings through, summarizing beyond ten", () => {
    const warnings = Array.from(
      { length: 13 },
      (_, i) => `ledger.jsonl line ${i + 1} is not valid JSON; skipped.`,
    );
    const r = report({ warnings });
    expect(r.warnings.slice(0, 10)).toEqual(warnings.slice(0, 10));
    expect(r.warnings[10]).toBe("3 more ledger lines were skipped.");
  });

  it("names the price catalog", () => {
    expect(report({ catalog: "@pydantic/genai-prices 0.1.8" }).prices).toBe("@pydantic/genai-prices 0.1.8");
  });
});
