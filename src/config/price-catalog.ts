import { UserError } from "../core/errors.js";
import type { Price } from "../core/pricing.js";
import { apiFamily } from "../core/provider.js";
import { executorModel, plannerModel, type ResolvedModel, resolveModel } from "./models.js";
import type { Config } from "./schema.js";

/** The catalog package and version the prices come from, shown in reports. */
export const CATALOG_NAME = "@pydantic/genai-prices";

type CatalogModule = typeof import("@pydantic/genai-prices");
let catalog: Promise<CatalogModule> | undefined;

// Loaded on first use: 800 KB of price data must not slow the server's start.
function loadCatalog(): Promise<CatalogModule> {
  catalog ??= import("@pydantic/genai-prices");
  return catalog;
}

/** Whether this process has loaded the catalog package (for the test that shows the snapshot spares it). */
export function catalogLoaded(): boolean {
  return catalog !== undefined;
}

/**
 * The built-in models' catalog prices, written next to the built module by scripts/postbuild.mjs
 * from this same catalog (`PRICE_SNAPSHOT`). The first estimate of a built-in model then needs no
 * catalog: loading it costs about 55 ms and 15–20 MB of memory, most of the server's cold-start
 * excess. Used only when its catalog version is the installed one; otherwise (or when running from
 * src/) every price comes from the catalog.
 */
export const PRICE_SNAPSHOT = "builtin-prices.json";

interface Snapshot {
  catalog: string;
  prices: Record<string, Price | null>;
}

let snapshot: Promise<Snapshot | null> | undefined;

function loadSnapshot(): Promise<Snapshot | null> {
  snapshot ??= (async () => {
    const { readFile } = await import("node:fs/promises");
    let read: Snapshot;
    try {
      read = JSON.parse(await readFile(new URL(`./${PRICE_SNAPSHOT}`, import.meta.url), "utf8")) as Snapshot;
    } catch {
      return null;
    }
    return read.catalog === (await catalogVersion()) ? read : null;
  })();
  return snapshot;
}

/** The key of a model's price in the snapshot and in the in-process cache. */
export const priceKey = (family: string, model: string) => `${family}\0${model}`;

function baseRate(rate: unknown): number | undefined {
  if (typeof rate === "number") return rate;
  if (rate && typeof rate === "object" && "base" in rate && typeof rate.base === "number") return rate.base;
  return undefined;
}

/**
 * The model's price: the config override when present, else the catalog's base (non-tiered)
 * rates, else null. OpenAI-compatible endpoints (Ollama, vLLM...) have no catalog price.
 */
const catalogPrices = new Map<string, Promise<Price | null>>();

export async function priceOf(model: ResolvedModel): Promise<Price | null> {
  if (model.priceOverride) return model.priceOverride;
  const family = apiFamily(model.provider);
  if (family === "openai-compatible") return null;
  // The catalog lookup matches against every model it knows: do it once per model.
  const key = priceKey(family, model.model);
  let price = catalogPrices.get(key);
  if (!price) {
    price = loadSnapshot().then((snap) =>
      snap && key in snap.prices ? snap.prices[key]! : catalogPrice({ model: model.model, provider: family }),
    );
    catalogPrices.set(key, price);
  }
  return price;
}

/**
 * The catalog's price for a bare model id from any provider (`gemini-2.5-pro`), for usage the
 * server did not make itself (the planner's); null when the catalog does not know it.
 */
export function priceOfModelId(model: string): Promise<Price | null> {
  const key = `*\0${model}`;
  let price = catalogPrices.get(key);
  if (!price) {
    price = catalogPrice({ model });
    catalogPrices.set(key, price);
  }
  return price;
}

/** Any model id's price: a configured or built-in model's (config override first), else the catalog's. */
export async function priceOfAnyModel(config: Config, model: string): Promise<Price | null> {
  try {
    return await priceOf(resolveModel(config, model));
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    return priceOfModelId(model);
  }
}

async function catalogPrice(model: { model: string; provider?: string }): Promise<Price | null> {
  const { calcPrice } = await loadCatalog();
  let found: ReturnType<CatalogModule["calcPrice"]>;
  try {
    found = calcPrice(
      { input_tokens: 0, output_tokens: 0 },
      model.model,
      model.provider ? { providerId: model.provider } : {},
    );
  } catch {
    return null;
  }
  if (!found) return null;
  const prices = found.model_price as Record<string, unknown>;
  const input = baseRate(prices.input_mtok);
  const output = baseRate(prices.output_mtok);
  if (input === undefined || output === undefined) return null;
  const cacheRead = baseRate(prices.cache_read_mtok);
  const cacheWrite = baseRate(prices.cache_write_mtok);
  return {
    input_per_mtok: input,
    output_per_mtok: output,
    ...(cacheRead !== undefined ? { cache_read_per_mtok: cacheRead } : {}),
    ...(cacheWrite !== undefined ? { cache_write_per_mtok: cacheWrite } : {}),
  };
}

/**
 * When each catalog version was published: the package carries no date of its own. package.json
 * pins the version exactly; a test fails when the installed version has no date here.
 */
export const CATALOG_RELEASE_DATES: Record<string, string> = { "0.1.8": "2026-09-23" };

/** The catalog's version and date, e.g. "@pydantic/genai-prices 0.1.8 (prices as of 2026-09-23)". */
export async function catalogVersion(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const { dirname, join } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  try {
    const entry = fileURLToPath(import.meta.resolve("@pydantic/genai-prices"));
    const pkg = JSON.parse(await readFile(join(dirname(entry), "..", "package.json"), "utf8")) as {
      version: string;
    };
    const date = CATALOG_RELEASE_DATES[pkg.version];
    return `${CATALOG_NAME} ${pkg.version}${date ? ` (prices as of ${date})` : ""}`;
  } catch {
    return CATALOG_NAME;
  }
}

/** defaults.planner's and defaults.executor's prices, for should_delegate's band; null when either is unknown. */
export async function delegationPrices(config: Config): Promise<{ planner: Price; executor: Price } | null> {
  const [planner, executor] = await Promise.all([
    priceOf(plannerModel(config)),
    priceOf(executorModel(config)),
  ]);
  return planner && executor ? { planner, executor } : null;
}
