import { describe, expect, it } from "vitest";
import { resolveModel } from "../../../src/config/models.js";
import { priceOf } from "../../../src/config/price-catalog.js";
import type { Config } from "../../../src/config/schema.js";
import { costOf } from "../../../src/core/pricing.js";
import { zeroUsage } from "../../../src/core/usage.js";
import { priceEntry } from "../../../src/store/report.js";

const usage = {
  input_tokens: 1_000_000,
  output_tokens: 100_000,
  cache_read_tokens: 2_000_000,
  cache_write_tokens: 400_000,
};

describe("costOf", () => {
  it("prices input, output, cache reads and cache writes each at their own rate", () => {
    const price = {
      input_per_mtok: 3,
      output_per_mtok: 15,
      cache_read_per_mtok: 0.3,
      cache_write_per_mtok: 3.75,
    };
    // 3 + 1.5 + 0.6 + 1.5
    expect(costOf(usage, price)).toBeCloseTo(6.6, 9);
  });

  it("prices cache tokens at the input rate when the price gives no cache rates", () => {
    expect(costOf(usage, { input_per_mtok: 3, output_per_mtok: 15 })).toBeCloseTo(3 + 1.5 + 6 + 1.2, 9);
  });

  it("is null for an unknown price, never 0", () => {
    expect(costOf(usage, null)).toBeNull();
    expect(costOf(zeroUsage(), undefined)).toBeNull();
    expect(costOf(zeroUsage(), { input_per_mtok: 3, output_per_mtok: 15 })).toBe(0);
  });
});

describe("priceOf / priceEntry", () => {
  const config: Config = {
    models: {
      cheap: {
        provider: "anthropic",
        model: "claude-haiku-4-5",
        price: { input_per_mtok: 0.5, output_per_mtok: 2 },
      },
      local: {
        provider: "openai-compatible",
        model: "qwen2.5-coder:7b",
        base_url: "http://127.0.0.1:11434/v1",
      },
    },
  };

  it("uses the config override before the catalog", async () => {
    expect(await priceOf(resolveModel(config, "cheap"))).toEqual({ input_per_mtok: 0.5, output_per_mtok: 2 });
    expect(await priceEntry(resolveModel(config, "cheap"), { ...zeroUsage(), input_tokens: 2_000_000 })).toBe(
      1,
    );
  });

  it("finds a Claude model in the bundled catalog, cache rates included", async () => {
    const price = await priceOf(resolveModel({}, "haiku"));
    expect(price).not.toBeNull();
    expect(price!.input_per_mtok).toBeGreaterThan(0);
    expect(price!.output_per_mtok).toBeGreaterThan(price!.input_per_mtok);
    expect(price!.cache_read_per_mtok).toBeLessThan(price!.input_per_mtok);
    expect(price!.cache_write_per_mtok).toBeGreaterThan(price!.input_per_mtok);
    const cost = await priceEntry(resolveModel({}, "haiku"), usage);
    expect(cost).toBeCloseTo(costOf(usage, price)!, 12);
  });

  it("is null for a model nobody prices (a local endpoint, an unknown id)", async () => {
    expect(await priceOf(resolveModel(config, "local"))).toBeNull();
    expect(await priceEntry(resolveModel(config, "local"), usage)).toBeNull();
    expect(await priceEntry(resolveModel({}, "claude-nonexistent-9"), usage)).toBeNull();
  });
});
