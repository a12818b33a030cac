import type { GoalId } from "./goals.js";

/** Spread of a timed figure over its runs. */
export interface Runs {
  n: number;
  min: number;
  median: number;
  max: number;
}

/** One line of the benchmark table. Ratios are against a reference measured in the same run. */
export interface BenchRow {
  /** Which benchmark group, e.g. "validation". */
  group: string;
  /** What was measured, e.g. "runner overhead per trivial command". */
  name: string;
  /** The measured figure (for a timed row: the median of its runs). */
  value: number;
  unit: string;
  /** The reference figure measured in the same run, when the row is a comparison. */
  reference?: number;
  /** value / reference. */
  ratio?: number;
  /** The goal this row measures, from bench/goals.ts; the verdict comes from there. */
  goal?: GoalId;
  /** A timed row's spread: min / median / max over at least 3 runs. */
  runs?: Runs;
  /** The reference's spread, when the reference is timed. */
  referenceRuns?: Runs;
  /** 1-minute load average when the row was measured. */
  load?: number;
  /** Set when the reference fell outside its plausible range: the row cannot be met. */
  referenceBroken?: string;
  note?: string;
}

export interface BenchOptions {
  /** Tiny sizes: the smoke run inside `npm test` that keeps the harness from rotting. */
  quick: boolean;
}

export type Bench = (opts: BenchOptions) => Promise<BenchRow[]>;
