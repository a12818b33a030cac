import { describe, expect, it } from "vitest";
import { fitText, fitToBudget, RESULT_BUDGET_BYTES } from "../../../src/tools/budget.js";

describe("fitToBudget", () => {
  it("leaves a small result alone", () => {
    const r = {
      results: [{ task_id: "p/01-a", report: "ok", validation: { failed: [{ output: "x".repeat(500) }] } }],
    };
    expect(fitToBudget(structuredClone(r))).toEqual(r);
  });

  it("cuts the longest outputs (keeping their tails) and reports until the JSON fits", () => {
    const cjk = "漢字のテキスト".repeat(400); // ~8.4 KB of 3-byte characters per command
    const r = {
      results: Array.from({ length: 50 }, (_, i) => ({
        task_id: `p/${String(i + 1).padStart(2, "0")}-t`,
        status: "failed",
        report: `report ${i} `.repeat(60),
        validation: {
          passed: false,
          ran: 1,
          failed: [{ run: "npm test", exit_code: 1, output: `${cjk}END-${i}` }],
        },
      })),
    };
    const fitted = fitToBudget(r);
    expect(Buffer.byteLength(JSON.stringify(fitted))).toBeLessThanOrEqual(RESULT_BUDGET_BYTES);
    for (const [i, t] of fitted.results.entries()) {
      expect(t.task_id).toBe(`p/${String(i + 1).padStart(2, "0")}-t`);
      expect(t.validation.failed[0]!.output.endsWith(`END-${i}`)).toBe(true);
      expect(t.validation.failed[0]!.output).toContain("cut to fit");
    }
  });

  it("cuts other long strings once the free text is not enough, keeping their heads", () => {
    const r = { title: "t", notes: Array.from({ length: 4 }, (_, i) => `note ${i} ${"x".repeat(20_000)}`) };
    const fitted = fitToBudget(r);
    expect(Buffer.byteLength(JSON.stringify(fitted))).toBeLessThanOrEqual(RESULT_BUDGET_BYTES);
    expect(fitted.title).toBe("t");
    for (const [i, n] of fitted.notes.entries())
      expect(n).toMatch(new RegExp(`^note ${i} x+\\[…cut to fit\\]$`));
  });

  it("holds a text answer to the budget, its head kept", () => {
    const text = `head\n${"表".repeat(40_000)}`;
    const fitted = fitText(text);
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(RESULT_BUDGET_BYTES);
    expect(fitted.startsWith("head\n表")).toBe(true);
    expect(fitted.endsWith("[…cut to fit]")).toBe(true);
    expect(fitText("short")).toBe("short");
  });
});
