// After tsc: make the bin executable (tsc drops the bit) and precompute what tools/list answers,
// so the server does not convert every zod schema to JSON Schema at each start.
import { chmodSync, writeFileSync } from "node:fs";

chmodSync(new URL("../dist/cli.js", import.meta.url), 0o755);
const { computeToolList } = await import("../dist/server.js");
writeFileSync(
  new URL("../dist/tools/listed.json", import.meta.url),
  `${JSON.stringify(computeToolList())}\n`,
);
