// tsc does not keep the executable bit; npx and `bin` need it on the entry point.
import { chmodSync } from "node:fs";

chmodSync(new URL("../dist/cli.js", import.meta.url), 0o755);
