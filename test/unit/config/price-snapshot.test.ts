/**
 * The built server prices its built-in models from a snapshot the build takes of the catalog
 * (dist/config/builtin-prices.json), so a first estimate does not load the catalog package. Run on
 * the built module in a fresh process: this test process has its own module state.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUILTIN_MODELS, resolveModel } from "../../../src/config/models.js";
import { catalogVersion, PRICE_SNAPSHOT, priceOf } from "../../../src/config/price-catalog.js";
import { assertBuilt, PROJECT_ROOT } from "../../e2e/harness.js";

const DIST = join(PROJECT_ROOT, "dist/config");

/** Every built-in alias priced by the built module in a fresh process, and whether it loaded the catalog. */
function builtPrices(): { prices: Record<string, unknown>; loaded: boolean } {
  const script = `
    const m = await import(${JSON.stringify(join(DIST, "price-catalog.js"))});
    const { BUILTIN_MODELS, resolveModel } = await import(${JSON.stringify(join(DIST, "models.js"))});
    const prices = {};
    for (const alias of Object.keys(BUILTIN_MODELS)) prices[alias] = await m.priceOf(resolveModel({}, alias));
    console.log(JSON.stringify({ prices, loaded: m.catalogLoaded() }));`;
  return JSON.parse(
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }),
  );
}

describe("built-in prices snapshot", () => {
  it("prices every built-in model without loading the catalog, at exactly the catalog's prices", async () => {
    assertBuilt();
    const built = builtPrices();
    expect(built.loaded).toBe(false);
    for (const alias of Object.keys(BUILTIN_MODELS)) {
      // src/ has no snapshot: these come from the catalog itself.
      expect(built.prices[alias], alias).toEqual(await priceOf(resolveModel({}, alias)));
    }
  });

  it("names the catalog version it was taken from", async () => {
    assertBuilt();
    const snap = JSON.parse(readFileSync(join(DIST, PRICE_SNAPSHOT), "utf8")) as { catalog: string };
    expect(snap.catalog).toBe(await catalogVersion());
  });
});
