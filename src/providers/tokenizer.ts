import type { ProviderName } from "./config.js";

/**
 * Claude has no offline tokenizer. We count with o200k (the GPT-4o/4.1/5 encoding) and scale by
 * this factor: Claude's tokenizer yields roughly 10–30 % more tokens than o200k on English prose
 * and code. The estimate is replaced by measured usage after dispatch, and every task keeps both.
 */
export const CLAUDE_TOKEN_FACTOR = 1.2;

type Tokenizer = typeof import("gpt-tokenizer");
let tokenizer: Promise<Tokenizer> | undefined;

// Loaded on first use: the BPE tables take ~130 ms to load and most server starts never need them.
function load(): Promise<Tokenizer> {
  tokenizer ??= import("gpt-tokenizer");
  return tokenizer;
}

/** Exact o200k count for OpenAI models; a calibrated estimate for Claude and unknown models. */
export async function countTokens(text: string, provider: ProviderName): Promise<number> {
  const { countTokens: count } = await load();
  const exact = count(text);
  return provider === "openai" ? exact : Math.ceil(exact * CLAUDE_TOKEN_FACTOR);
}

/** How the count was made, for the report and the README. */
export function countMethod(provider: ProviderName): "exact" | "estimated" {
  return provider === "openai" ? "exact" : "estimated";
}
