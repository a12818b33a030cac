import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { shown } from "../../../src/core/errors.js";
import { TOKENIZER_RUN_MAX, tokenizerPieces } from "../../../src/core/estimate.js";
import { miniTaskSpecSchema } from "../../../src/core/mini-task.js";
import { countTokens } from "../../../src/core/token-count.js";
import { describeIssue } from "../../../src/core/zod-errors.js";

describe("shown: the caller's text inside an error", () => {
  it("makes NUL and control characters visible", () => {
    expect(shown("a\0b")).toBe("a\\0b");
    expect(shown("a\nb\tc\u001b")).toBe("a\\nb\\tc\\u001b");
  });

  it("cuts long text in the middle to at most max characters", () => {
    const s = shown(`${"a".repeat(5000)}END`, 80);
    expect(s.length).toBe(80);
    expect(s.startsWith("aaaa")).toBe(true);
    expect(s.endsWith("END")).toBe(true);
    expect(s).toContain("…");
  });

  it("is one bounded line for any input", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 2000 }),
        fc.integer({ min: 10, max: 200 }),
        (t, max) => {
          const s = shown(t, max);
          expect(s.length).toBeLessThanOrEqual(max);
          expect(s).not.toMatch(/[\0\n\r]/);
        },
      ),
    );
  });
});

describe("describeIssue with hostile unknown keys", () => {
  it("names at most three keys, each cut short", () => {
    const extra = Object.fromEntries(["k".repeat(5000), "a\nb", "c", "d", "e"].map((k) => [k, 1]));
    const r = miniTaskSpecSchema.safeParse({ ...extra });
    const issue = r.error!.issues.find((i) => i.code === "unrecognized_keys")!;
    const text = describeIssue(issue);
    expect(text.length).toBeLessThan(200);
    expect(text).toContain('"a\\nb"');
    expect(text).toContain("and 2 more");
    expect(text).not.toContain("\n");
  });
});

describe("tokenizerPieces: bounded work for the tokenizer", () => {
  it("rejoins to the input and never leaves a run longer than the cap", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), fc.nat({ max: 3000 }), (prose, run) => {
        const text = `${prose}${"x".repeat(run)} tail`;
        const pieces = tokenizerPieces(text);
        expect(pieces.join("")).toBe(text);
        for (const p of pieces) {
          for (const r of p.split(/[ \n\t\r]/)) expect(r.length).toBeLessThanOrEqual(TOKENIZER_RUN_MAX);
        }
      }),
    );
  });

  it("leaves ordinary prose and code whole, so their counts are unchanged", async () => {
    const code = "export function add(a: number, b: number): number {\n  return a + b;\n}\n".repeat(50);
    expect(tokenizerPieces(code)).toEqual([code]);
    const blob = "x".repeat(10_000);
    const sum = (await Promise.all(tokenizerPieces(blob).map((p) => countTokens(p, "openai")))).reduce(
      (a, b) => a + b,
      0,
    );
    const whole = await countTokens(blob, "openai");
    expect(Math.abs(sum - whole)).toBeLessThanOrEqual(tokenizerPieces(blob).length);
  });
});
