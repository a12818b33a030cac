/** One line of the benchmark table. Ratios are against a reference measured in the same run. */
export interface BenchRow {
  /** Which benchmark group, e.g. "validation". */
  group: string;
  /** What was measured, e.g. "runner overhead per trivial command". */
  name: string;
  /** The measured figure. */
  value: number;
  unit: string;
  /** The reference figure measured in the same run, when the row is a comparison. */
  reference?: number;
  /** value / reference, or the figure compared with the goal. */
  ratio?: number;
  /** Human-readable goal, e.g. "≤ 1.3×". */
  goal?: string;
  /** Whether the goal is met; undefined when there is no goal. */
  met?: boolean;
  note?: string;
}

export interface BenchOptions {
  /** Tiny sizes: the smoke run inside `npm test` that keeps the harness from rotting. */
  quick: boolean;
}

export type Bench = (opts: BenchOptions) => Promise<BenchRow[]>;
