// `npm run schemas`: regenerate schemas/*.json from the zod schemas.
import { writeFileSync } from "node:fs";
import { generateSchemas } from "./schemas.js";

for (const [file, text] of Object.entries(generateSchemas())) {
  writeFileSync(new URL(`../schemas/${file}`, import.meta.url), text);
  process.stderr.write(`wrote schemas/${file}\n`);
}
