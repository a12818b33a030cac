import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { countTokens as exactO200k } from "gpt-tokenizer";
import { describe, expect, it } from "vitest";
import { approximateO200k, CLAUDE_TOKEN_FACTOR, countTokens } from "../../../src/core/token-count.js";

const ROOT = new URL("../../../", import.meta.url).pathname;

describe("token counts", () => {
  it("approximates o200k within a few per cent on this repository's code and docs", () => {
    const files = execFileSync("git", ["ls-files", "src", "templates", "README.md", "SECURITY.md"], {
      cwd: ROOT,
      encoding: "utf8",
    })
      .trim()
      .split("\n");
    let exact = 0;
    let approx = 0;
    for (const f of files) {
      const text = readFileSync(`${ROOT}${f}`, "utf8");
      exact += exactO200k(text);
      approx += approximateO200k(text);
    }
    expect(Math.abs(approx - exact) / exact).toBeLessThan(0.05);
  });

  it("counts CJK text about a token a character, not a token a sentence", () => {
    const cjk = "这是一个用于测试的中文句子，包含一些常见的词语和标点符号。".repeat(10);
    expect(approximateO200k(cjk)).toBeGreaterThanOrEqual(exactO200k(cjk));
  });

  it("stays exact for OpenAI models and scales the approximation for Claude", async () => {
    const text = "export function add(a: number, b: number): number {\n  return a + b;\n}\n";
    expect(await countTokens(text, "openai")).toBe(exactO200k(text));
    expect(await countTokens(text, "anthropic")).toBe(
      Math.ceil(approximateO200k(text) * CLAUDE_TOKEN_FACTOR),
    );
  });
});
