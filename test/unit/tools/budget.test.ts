import { describe, expect, it } from "vitest";
import { fitToBudget, RESULT_BUDGET_BYTES } from "../../../src/tools/budget.js";

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
});
