/**
 * `npm run bench`: runs every benchmark in sequence, prints one table, and writes
 * bench/RESULTS.md, keeping its hand-written "## Findings" section. Flags: --quick (tiny sizes,
 * the smoke mode; never writes RESULTS.md), --no-write (print only), --only <bench> (one bench of
 * bench/suite.ts, print only). Exits 1 only when a
 * benchmark could not run; an unmet goal is reported, never an error.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { findingsOf, load, machine, renderHeadline, renderResults, renderTable, revision } from "./report.js";
import { round } from "./stats.js";
import { runSuite } from "./suite.js";

const RESULTS = new URL("./RESULTS.md", import.meta.url);

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    only: { type: "string" },
  },
});
const quick = values.quick === true;
const write = !quick && values["no-write"] !== true && values.only === undefined;

const date = new Date();
const measured = revision();
const loadAtStart = load();
process.stderr.write(`bench: ${quick ? "quick (smoke) run" : "full run"}, load average ${loadAtStart}\n`);
const run = await runSuite({ quick, only: values.only }, (name, result, ms) => {
  const what =
    result instanceof Error ? `FAILED: ${result.stack ?? result.message}` : `${result.length} rows`;
  process.stderr.write(`bench: ${name} ${what} (${round(ms / 1000, 1)} s)\n`);
});
const loadAtEnd = load();

process.stdout.write(`\n${renderTable(run.rows)}\n\n`);
process.stdout.write(`${renderHeadline(run.rows).join("\n")}\n`);

if (run.failures.length) {
  process.stderr.write(
    `bench: ${run.failures.map((f) => f.name).join(", ")} failed; bench/RESULTS.md left as it was.\n`,
  );
  process.exitCode = 1;
} else if (write) {
  const findings = existsSync(RESULTS) ? findingsOf(readFileSync(RESULTS, "utf8")) : undefined;
  writeFileSync(
    RESULTS,
    renderResults({
      rows: run.rows,
      date,
      machine: machine(),
      revision: measured,
      findings,
      loadAtStart,
      loadAtEnd,
      durationMs: run.durationMs,
    }),
  );
  process.stdout.write("Wrote bench/RESULTS.md.\n");
} else {
  process.stdout.write(
    quick
      ? "Quick run: bench/RESULTS.md not written.\n"
      : `${values.only !== undefined ? "--only" : "--no-write"}: bench/RESULTS.md not written.\n`,
  );
}
