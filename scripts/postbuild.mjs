// After tsc: make the bin executable (tsc drops the bit), precompute what tools/list answers,
// so the server neither loads the tool modules nor converts their zod schemas at each start, and
// snapshot the built-in models' prices from the price catalog, so a first estimate need not load it.
import { chmodSync, rmSync, writeFileSync } from "node:fs";

chmodSync(new URL("../dist/cli.js", import.meta.url), 0o755);
const [{ computeToolList }, { TOOLS }] = await Promise.all([
  import("../dist/server.js"),
  import("../dist/tools/index.js"),
]);
writeFileSync(
  new URL("../dist/tools/listed.json", import.meta.url),
  `${JSON.stringify(computeToolList(TOOLS))}\n`,
);

// From the catalog itself, never from the snapshot an earlier build left.
const snapshotFile = new URL("../dist/config/builtin-prices.json", import.meta.url);
rmSync(snapshotFile, { force: true });
const [
  { BUILTIN_MODELS, resolveModel },
  { apiFamily },
  { catalogVersion, priceKey, priceOf, PRICE_SNAPSHOT },
] = await Promise.all([
  import("../dist/config/models.js"),
  import("../dist/core/provider.js"),
  import("../dist/config/price-catalog.js"),
]);
const prices = {};
for (const alias of Object.keys(BUILTIN_MODELS)) {
  const model = resolveModel({}, alias);
  if (model.priceOverride) continue;
  prices[priceKey(apiFamily(model.provider), model.model)] = await priceOf(model);
}
if (!snapshotFile.pathname.endsWith(`/${PRICE_SNAPSHOT}`))
  throw new Error("postbuild: snapshot file name drifted");
writeFileSync(snapshotFile, `${JSON.stringify({ catalog: await catalogVersion(), prices }, null, 2)}\n`);
