import { describe, expect, it } from "vitest";
import { type DelegationQuestion, shouldDelegate } from "../../../src/core/decide.js";

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
  it("10+ repetitive edits → delegate, 60–80 %", () => {
    expect(shouldDelegate({ ...base, repetitive_edit_count: 10 })).toMatchObject({
      decision: "delegate",
      expected_savings_pct: [60, 80],
    });
    expect(shouldDelegate({ ...base, repetitive_edit_count: 9 }).decision).toBe("current_model");
  });
  it("multi-file with 5+ atomic tasks → delegate, 40–60 %", () => {
    expect(shouldDelegate({ ...base, multi_file: true, atomic_task_count: 5 })).toMatchObject({
      decision: "delegate",
      expected_savings_pct: [40, 60],
    });
  });
  it("multi-file with fewer atomic tasks → big_model", () => {
    expect(shouldDelegate({ ...base, multi_file: true, atomic_task_count: 4 }).decision).toBe("big_model");
  });
  it("otherwise → current_model", () => {
    expect(shouldDelegate(base)).toMatchObject({ decision: "current_model", expected_savings_pct: [0, 0] });
  });
});
