/**
 * Anthropic's minimum cacheable prompt length per model: a cache_control breakpoint on a shorter
 * prefix is silently ignored (no write, no read), so a marker there cannot pay.
 * Figures from Anthropic's prompt-caching documentation: Haiku 4.5, Opus 4.5/4.6: 4,096; Haiku
 * 3.5/3, Opus 4.7: 2,048; Sonnet 4.x, Opus 4/4.1: 1,024. Unknown models get the lowest (1,024):
 * a marker under the real minimum costs nothing.
 */
const MINIMUMS: [RegExp, number][] = [
  [/haiku-4|opus-4-[56]/, 4096],
  [/haiku|opus-4-7/, 2048],
];
export const DEFAULT_MIN_CACHEABLE_TOKENS = 1024;

export function minCacheableTokens(model: string): number {
  const id = model.toLowerCase();
  return MINIMUMS.find(([re]) => re.test(id))?.[1] ?? DEFAULT_MIN_CACHEABLE_TOKENS;
}

/**
 * Whether a prefix of `chars` characters may reach the model's minimum. Errs towards marking
 * (3 chars per token over-counts Claude's tokens): a marker under the minimum costs nothing, a
 * missing one above it loses the read.
 */
export function mayCache(model: string, chars: number): boolean {
  return Math.ceil(chars / 3) >= minCacheableTokens(model);
}
