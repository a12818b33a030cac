/** Every benchmark, in the order `npm run bench` runs them, and the loop that runs them. */
import { benchAb } from "./ab/ab.js";
import { benchCliOverhead } from "./cli-overhead.js";
import { benchDispatch } from "./dispatch.js";
import { benchLedger } from "./ledger.js";
import { benchPlannerSavings } from "./planner-savings.js";
import { MIN_RUNS, singleRunTimedRows } from "./reference.js";
import { benchServer } from "./server.js";
import { benchTasksScale } from "./tasks-scale.js";
import type { Bench, BenchOptions, BenchRow } from "./types.js";
import { benchValidation } from "./validation.js";

export interface SuiteEntry {
  /** The bench's name; its rows carry their own groups (dispatch also yields "cost"). */
  name: string;
  bench: Bench;
  /** The row groups this bench yields, so the smoke test can check none went missing. */
  groups: string[];
}

export const SUITE: SuiteEntry[] = [
  { name: "server", bench: benchServer, groups: ["server"] },
  { name: "dispatch", bench: benchDispatch, groups: ["dispatch", "cost"] },
  { name: "validation", bench: benchValidation, groups: ["validation"] },
  { name: "ledger", bench: benchLedger, groups: ["ledger"] },
  { name: "tasks-scale", bench: benchTasksScale, groups: ["ledger"] },
  { name: "planner-savings", bench: benchPlannerSavings, groups: ["savings model"] },
  { name: "cli", bench: benchCliOverhead, groups: ["cli"] },
  { name: "ab", bench: benchAb, groups: ["a/b in Claude Code"] },
];

export interface SuiteRun {
  rows: BenchRow[];
  failures: { name: string; error: Error }[];
  durationMs: number;
}

/**
 * Runs every bench in sequence (never in parallel: they time things); a failing bench does not stop
 * the rest. In a full run, a bench whose timed rows lack their runs fails.
 */
export async function runSuite(
  opts: BenchOptions & { only?: string },
  onBench?: (name: string, rows: BenchRow[] | Error, ms: number) => void,
): Promise<SuiteRun> {
  const started = performance.now();
  const rows: BenchRow[] = [];
  const failures: SuiteRun["failures"] = [];
  if (opts.only !== undefined && !SUITE.some((s) => s.name === opts.only)) {
    throw new Error(`--only ${opts.only}: no such bench; one of ${SUITE.map((s) => s.name).join(", ")}.`);
  }
  for (const { name, bench } of SUITE) {
    if (opts.only !== undefined && name !== opts.only) continue;
    const start = performance.now();
    try {
      const got = await bench(opts);
      const single = opts.quick ? [] : singleRunTimedRows(got);
      if (single.length)
        throw new Error(`timed rows without min / median / max over ${MIN_RUNS} runs: ${single.join("; ")}`);
      rows.push(...got);
      onBench?.(name, got, performance.now() - start);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      failures.push({ name, error });
      onBench?.(name, error, performance.now() - start);
    }
  }
  return { rows, failures, durationMs: performance.now() - started };
}
