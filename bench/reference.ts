/**
 * Timed figures and the sanity check on references. A reference measured the wrong way (a pipe the
 * product does not have, a shell it does not use) can make any ratio look good, so each reference
 * declares the range a correct measurement falls in; outside it the row is "reference broken".
 */
import { loadavg } from "node:os";
import { median } from "./stats.js";
import type { BenchRow, Runs } from "./types.js";

/** Runs below this many give no spread worth reporting. */
export const MIN_RUNS = 3;

export function runsOf(samples: readonly number[], digits = 2): Runs {
  if (samples.length < MIN_RUNS)
    throw new Error(`a timed figure needs at least ${MIN_RUNS} runs, got ${samples.length}`);
  const r = (n: number) => Number(n.toFixed(digits));
  return {
    n: samples.length,
    min: r(Math.min(...samples)),
    median: r(median([...samples])),
    max: r(Math.max(...samples)),
  };
}

/** Units of a timed figure: a row in one of these must carry its runs. */
const TIMED_UNITS = new Set(["ms", "s", "µs", "records/s"]);

/**
 * The rows of a full run that are timed but carry no spread, by name: a single run of a timed
 * figure says nothing about the machine's noise, so the suite refuses it.
 */
export function singleRunTimedRows(rows: readonly BenchRow[]): string[] {
  return rows.filter((r) => TIMED_UNITS.has(r.unit) && !r.runs).map((r) => `${r.group}: ${r.name}`);
}

/** 1-minute load average, so a reader can tell a busy machine from a slow server. */
export function loadNow(): number {
  return Number(loadavg()[0]!.toFixed(2));
}

export interface Plausible {
  /** What the reference is, for the message. */
  what: string;
  /** Inclusive bounds on the reference's median; either may be omitted. */
  min?: number;
  max?: number;
  unit: string;
}

/**
 * Why the reference is not credible, or undefined when its median lies in the plausible range.
 * "plain spawn of bash -c true: median 80 ms is above the plausible 50 ms".
 */
export function referenceProblem(reference: Runs | number, range: Plausible): string | undefined {
  const m = typeof reference === "number" ? reference : reference.median;
  if (!Number.isFinite(m)) return `${range.what}: no finite figure`;
  if (range.max !== undefined && m > range.max)
    return `${range.what}: median ${m} ${range.unit} is above the plausible ${range.max} ${range.unit}`;
  if (range.min !== undefined && m < range.min)
    return `${range.what}: median ${m} ${range.unit} is below the plausible ${range.min} ${range.unit}`;
  return undefined;
}
