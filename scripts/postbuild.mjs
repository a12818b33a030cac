// After tsc: make the bin executable (tsc drops the bit) and precompute what tools/list answers,
// so the server neither loads the tool modules nor converts their zod schemas at each start.
import { chmodSync, writeFileSync } from "node:fs";

chmodSync(new URL("../dist/cli.js", import.meta.url), 0o755);
const [{ computeToolList }, { TOOLS }] = await Promise.all([
  import("../dist/server.js"),
  import("../dist/tools/index.js"),
]);
writeFileSync(
  new URL("../dist/tools/listed.json", import.meta.url),
  `${JSON.stringify(computeToolList(TOOLS))}\n`,
);
