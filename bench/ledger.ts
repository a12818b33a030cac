/**
 * Ledger benchmarks: (1) appending records one append() each, fsynced, against the same appends
 * without fsync in the same run (the durability cost); (2) reading a 100,000-record ledger and
 * computing the savings report, the work behind `savings_report`, against a 1 s goal.
 */
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../src/config/schema.js";
import type { LedgerEntry, LedgerPhase } from "../src/core/ledger-entry.js";
import { computeSavings } from "../src/core/savings.js";
import { Ledger } from "../src/store/ledger.js";
import { buildSavingsReport } from "../src/store/report.js";
import type { Bench, BenchRow } from "./types.js";

const GROUP = "ledger";
const PROJECT = "bench";
const TASKS = 50;
const PHASES: LedgerPhase[] = [
  "exploration",
  "planning",
  "execution",
  "execution",
  "testing",
  "verification",
];

const config: Config = {
  models: {
    // The planner is priced from the catalog, so the first report pays for loading it.
    sonnet: { provider: "anthropic", model: "claude-sonnet-4-5" },
    haiku: {
      provider: "anthropic",
      model: "claude-haiku-4-5",
      price: { input_per_mtok: 1, output_per_mtok: 5 },
    },
  },
  defaults: { planner: "sonnet", executor: "haiku" },
};

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

/** A realistic mix: mostly executor calls with cache tokens, some planner records, 10 % another project. */
function record(i: number): LedgerEntry {
  const phase = PHASES[i % PHASES.length]!;
  const executor = phase === "execution" || phase === "testing";
  const task = i % TASKS;
  return {
    ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    project: i % 10 === 9 ? "other" : PROJECT,
    ...(executor
      ? { task: `${PROJECT}/${String(task + 1).padStart(2, "0")}-task`, attempt: 1 + (i % 3) }
      : {}),
    phase,
    model: executor ? "claude-haiku-4-5" : "claude-sonnet-4-5",
    provider: "anthropic",
    input_tokens: 1000 + (i % 4000),
    output_tokens: 200 + (i % 800),
    cache_read_tokens: executor ? 3000 : 0,
    cache_write_tokens: executor && i % 7 === 0 ? 1500 : 0,
    cost_usd: i % 1000 === 999 ? null : 0.001 + (i % 50) / 10_000,
    source: executor ? "measured" : "reported",
  };
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function appendRows(dir: string, quick: boolean): Promise<BenchRow[]> {
  const n = quick ? 200 : 10_000;
  const records = Array.from({ length: n }, (_, i) => record(i));
  const appendAll = (ledger: Ledger) => async () => {
    for (const r of records) await ledger.append(r);
  };
  // Warm up the code paths before either timed run.
  await appendAll(new Ledger(join(dir, "warm.jsonl"), { fsync: false }))();
  const plain = await time(appendAll(new Ledger(join(dir, "plain.jsonl"), { fsync: false })));
  const synced = await time(appendAll(new Ledger(join(dir, "synced.jsonl"))));
  return [
    {
      group: GROUP,
      name: `append ${n.toLocaleString("en-US")} records, one fsynced write each`,
      value: Math.round(n / (synced / 1000)),
      unit: "records/s",
      note: `${round(synced)} ms total, ${round((synced / n) * 1000, 1)} µs per record`,
    },
    {
      group: GROUP,
      name: "fsync cost: fsynced append time vs the same appends without fsync",
      value: round(synced),
      unit: "ms",
      reference: round(plain),
      ratio: round(synced / plain),
      note: `without fsync: ${Math.round(n / (plain / 1000))} records/s`,
    },
  ];
}

async function reportRows(root: string, quick: boolean): Promise<BenchRow[]> {
  const n = quick ? 2_000 : 100_000;
  const dir = join(root, "mini-projects");
  const ledger = new Ledger(join(dir, "ledger.jsonl"));
  const chunk = 5_000;
  for (let i = 0; i < n; i += chunk) {
    await ledger.appendMany(Array.from({ length: Math.min(chunk, n - i) }, (_, j) => record(i + j)));
  }
  const tasks = Array.from({ length: TASKS }, (_, t) => ({
    id: `${PROJECT}/${String(t + 1).padStart(2, "0")}-task`,
    status: "passed",
    estimate: { input_tokens: 3000, output_tokens: 500, cost_usd: 0.0055, model: "claude-haiku-4-5" },
  }));
  const planner = { input_per_mtok: 3, output_per_mtok: 15 };

  // The first full report loads the price catalog; it is the cold figure a user sees once.
  const cold = await time(() =>
    buildSavingsReport({ workspaceRoot: root, dir, project: PROJECT, config, tasks }),
  );
  let read: Awaited<ReturnType<Ledger["read"]>> | undefined;
  const readMs = await time(async () => {
    read = await ledger.read({ project: PROJECT });
  });
  const computeMs = await time(async () =>
    computeSavings({
      project: PROJECT,
      entries: read!.entries,
      plannerModel: "claude-sonnet-4-5",
      plannerPrice: planner,
      tasks,
      warnings: read!.warnings,
    }),
  );
  const full = await time(() =>
    buildSavingsReport({ workspaceRoot: root, dir, project: PROJECT, config, tasks }),
  );
  const label = n.toLocaleString("en-US");
  return [
    {
      group: GROUP,
      name: `read ${label}-record ledger + computeSavings`,
      value: round(readMs + computeMs),
      unit: "ms",
      goal: "< 1000 ms",
      met: readMs + computeMs < 1000,
      note: `read ${round(readMs)} ms (${read!.entries.length} of the project's records), compute ${round(computeMs)} ms`,
    },
    {
      group: GROUP,
      name: `savings report over ${label} records (read, price, compute, write LOG.md)`,
      value: round(full),
      unit: "ms",
      goal: "< 1000 ms",
      met: full < 1000,
      note: `second run; the first, loading the price catalog, took ${round(cold)} ms`,
    },
  ];
}

export const benchLedger: Bench = async ({ quick }) => {
  const root = await realpath(await mkdtemp(join(tmpdir(), "bench-ledger-")));
  try {
    return [...(await appendRows(root, quick)), ...(await reportRows(root, quick))];
  } finally {
    await rm(root, { recursive: true, force: true });
  }
};
