import type { Usage } from "./usage.js";

/** USD per million tokens. Cache rates default as the providers bill them when absent. */
export interface Price {
  input_per_mtok: number;
  output_per_mtok: number;
  cache_read_per_mtok?: number;
  cache_write_per_mtok?: number;
}

/**
 * Cost of `usage` at `price`, or null when the price is unknown (never 0, never a guess).
 * Missing cache rates fall back to the input rate: the conservative choice, it never undercounts
 * below what an uncached request would have cost.
 */
export function costOf(usage: Usage, price: Price | null | undefined): number | null {
  if (!price) return null;
  const cacheRead = price.cache_read_per_mtok ?? price.input_per_mtok;
  const cacheWrite = price.cache_write_per_mtok ?? price.input_per_mtok;
  const micro =
    usage.input_tokens * price.input_per_mtok +
    usage.output_tokens * price.output_per_mtok +
    usage.cache_read_tokens * cacheRead +
    usage.cache_write_tokens * cacheWrite;
  return roundUsd(micro / 1_000_000);
}

/** Round to 1e-9 USD so sums of many records do not drift in their printed form. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}
