import { tokenizerPieces } from "./estimate.js";
import type { ProviderName } from "./provider.js";

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

/**
 * Exact o200k count for OpenAI models; a calibrated estimate for Claude and unknown models. Long
 * runs without whitespace (minified code, base64) are counted in pieces: the BPE's cost grows
 * with the square of such a run, and one 300 KB line would stall the server for a minute.
 */
export async function countTokens(text: string, provider: ProviderName): Promise<number> {
  const { countTokens: count } = await load();
  let exact = 0;
  for (const piece of tokenizerPieces(text)) exact += count(piece);
  return provider === "openai" || provider === "codex" ? exact : Math.ceil(exact * CLAUDE_TOKEN_FACTOR);
}
