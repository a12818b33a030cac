import { describe, expect, it } from "vitest";
import { expectedSavingsBand, scenarioCost } from "../../../src/core/counterfactual.js";
import { type DelegationQuestion, shouldDelegate as decideWith } from "../../../src/core/decide.js";
import { HAIKU, SONNET } from "../ledger/fixtures/prices.js";

const PRICES = { planner: SONNET, executor: HAIKU };
const shouldDelegate = (q: DelegationQuestion) => decideWith(q, PRICES);

const base: DelegationQuestion = {
  well_defined: true,
  repetitive_edit_count: 0,
  needs_exploration: false,
  multi_file: false,
  atomic_task_count: 1,
  needs_user_input: false,
};

describe("shouldDelegate — the decision tree, first match wins", () => {
  it("needs user input → big_model, even when everything else says delegate", () => {
    const a = shouldDelegate({ ...base, needs_user_input: true, repetitive_edit_count: 50 });
    expect(a.decision).toBe("big_model");
    expect(a.rationale).toMatch(/user/);
  });
  it("needs exploration → big_model", () => {
    expect(
      shouldDelegate({ ...base, needs_exploration: true, multi_file: true, atomic_task_count: 9 }).decision,
    ).toBe("big_model");
  });
  it("not well defined → ask_user", () => {
    expect(shouldDelegate({ ...base, well_defined: false, repetitive_edit_count: 20 }).decision).toBe(
      "ask_user",
    );
  });
  it("10+ repetitive edits → delegate, with the band modelled for one templated spec", () => {
    const a = shouldDelegate({ ...base, repetitive_edit_count: 10 });
    expect(a.decision).toBe("delegate");
    expect(a.expected_savings_pct).toEqual(
      expectedSavingsBand({ tasks: 10, templated: true, plannerPrice: SONNET, executorPrice: HAIKU }),
    );
    // 32k context: 69 %; 120k: 81 % (the planner would re-read its context on every executor turn).
    expect(a.expected_savings_pct).toEqual([69, 81]);
    expect(shouldDelegate({ ...base, repetitive_edit_count: 9 }).decision).toBe("current_model");
  });
  it("multi-file with 5+ atomic tasks → delegate; a spec and a review per task earn less than a template", () => {
    const a = shouldDelegate({ ...base, multi_file: true, atomic_task_count: 5 });
    expect(a.decision).toBe("delegate");
    expect(a.expected_savings_pct).toEqual([20, 24]);
    const low = scenarioCost({
      tasks: 5,
      templated: false,
      plannerContext: 32_000,
      plannerPrice: SONNET,
      executorPrice: HAIKU,
    });
    expect(Math.round(low.savings_pct)).toBe(20);
  });
  it("a model without a known price gives no band and says so", () => {
    const a = decideWith({ ...base, repetitive_edit_count: 12 }, null);
    expect(a).toMatchObject({ decision: "delegate", expected_savings_pct: [0, 0] });
    expect(a.rationale).toContain("No savings band: a model's price is unknown.");
  });
  it("multi-file with fewer atomic tasks → big_model", () => {
    expect(shouldDelegate({ ...base, multi_file: true, atomic_task_count: 4 }).decision).toBe("big_model");
  });
  it("otherwise → current_model", () => {
    // One small task: the spec, dispatch and review turns cost about what doing it would.
    expect(shouldDelegate(base)).toMatchObject({ decision: "current_model", expected_savings_pct: [2, 6] });
  });
});
