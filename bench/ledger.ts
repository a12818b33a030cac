/**
 * Ledger benchmarks: (1) appending records one append() each, fsynced, against the same appends
 * without fsync in the same run (the durability cost); (2) the savings report over a
 * 1,000,000-record ledger through the ledger index, in process and through the CLI, against a 1 s
 * goal, with the full read it replaced as the reference.
 */
import { execFile } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, realpath, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { Config } from "../src/config/schema.js";
import type { LedgerEntry, LedgerPhase } from "../src/core/ledger-entry.js";
import { computeSavings } from "../src/core/savings.js";
import { LEDGER_FILE, Ledger } from "../src/store/ledger.js";
import { INDEX_DIR } from "../src/store/ledger-index.js";
import { buildSavingsReport } from "../src/store/report.js";
import { CLI } from "../test/e2e/harness.js";
import { loadNow, MIN_RUNS, runsOf } from "./reference.js";
import { round, timeMs as time } from "./stats.js";
import type { Bench, BenchRow } from "./types.js";

const run = promisify(execFile);

const GROUP = "ledger";
const PROJECT = "bench";
const TASKS = 3_000;
/** One ledger for many projects, as it grows over months: the reported one holds 1 in PROJECTS records. */
const PROJECTS = 100;
const taskId = (t: number) => `${PROJECT}/${String(t + 1).padStart(2, "0")}-task`;
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

/** A realistic mix: mostly executor calls with cache tokens, some planner records, 10 % another project. */
function record(i: number): LedgerEntry {
  const phase = PHASES[i % PHASES.length]!;
  const executor = phase === "execution" || phase === "testing";
  const task = Math.floor(i / PROJECTS) % TASKS;
  return {
    ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    project: i % PROJECTS === 0 ? PROJECT : `p${i % PROJECTS}`,
    ...(executor ? { task: taskId(task), attempt: 1 + (i % 3) } : {}),
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

async function appendRows(dir: string, quick: boolean): Promise<BenchRow[]> {
  const n = quick ? 200 : 5_000;
  const runs = MIN_RUNS;
  const records = Array.from({ length: n }, (_, i) => record(i));
  const appendAll = (name: string, fsync: boolean) => () => {
    const ledger = new Ledger(join(dir, name), { fsync });
    return time(async () => {
      for (const r of records) await ledger.append(r);
    });
  };
  // Warm up the code paths before any timed run.
  await appendAll("warm.jsonl", false)();
  const plain: number[] = [];
  const synced: number[] = [];
  // The two take turns, so a burst of load falls on both.
  for (let i = 0; i < runs; i++) {
    plain.push(await appendAll(`plain-${i}.jsonl`, false)());
    synced.push(await appendAll(`synced-${i}.jsonl`, true)());
  }
  const load = loadNow();
  const syncedRuns = runsOf(synced);
  const plainRuns = runsOf(plain);
  const rate = (ms: number) => Math.round(n / (ms / 1000));
  const rates = runsOf(synced.map(rate), 0);
  return [
    {
      group: GROUP,
      name: `append ${n.toLocaleString("en-US")} records, one fsynced write each, median`,
      value: rates.median,
      unit: "records/s",
      runs: rates,
      load,
      note: `${runs} runs of ${n.toLocaleString("en-US")} records, each into a new file; median ${syncedRuns.median} ms total, ${round((syncedRuns.median / n) * 1000, 1)} µs per record`,
    },
    {
      group: GROUP,
      name: "fsync cost: fsynced append time vs the same appends without fsync, median",
      value: syncedRuns.median,
      unit: "ms",
      runs: syncedRuns,
      reference: plainRuns.median,
      referenceRuns: plainRuns,
      ratio: round(syncedRuns.median / plainRuns.median),
      load,
      note: `${runs} runs each, taking turns; without fsync: median ${rate(plainRuns.median)} records/s (min ${plainRuns.min} / max ${plainRuns.max} ms)`,
    },
  ];
}

/** Writes `n` records straight to the file (the fixture; appends are timed above). */
async function writeLedger(path: string, from: number, n: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const out = createWriteStream(path, { flags: "a" });
  const chunk = 10_000;
  for (let i = from; i < from + n; i += chunk) {
    let text = "";
    for (let j = i; j < Math.min(i + chunk, from + n); j++) text += `${JSON.stringify(record(j))}\n`;
    if (!out.write(text)) await once(out, "drain");
  }
  out.end();
  await once(out, "close");
}

function taskList() {
  return Array.from({ length: TASKS }, (_, t) => ({
    id: taskId(t),
    status: "passed",
    estimate: { input_tokens: 3000, output_tokens: 500, cost_usd: 0.0055, model: "claude-haiku-4-5" },
  }));
}

async function timedRuns(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push(await time(fn));
  return out;
}

async function reportRows(root: string, quick: boolean): Promise<BenchRow[]> {
  const n = quick ? 2_000 : 1_000_000;
  const label = n.toLocaleString("en-US");
  const dir = join(root, "mini-projects");
  const ledgerPath = join(dir, LEDGER_FILE);
  await writeLedger(ledgerPath, 0, n);
  const tasks = taskList();
  const report = () => buildSavingsReport({ workspaceRoot: root, dir, project: PROJECT, config, tasks });
  const runs = quick ? 3 : 5;

  // The reference: what every report used to do, read the whole ledger and compute.
  const fullRead = runsOf(
    await timedRuns(MIN_RUNS, async () => {
      const read = await new Ledger(ledgerPath).read({ project: PROJECT });
      computeSavings({
        project: PROJECT,
        entries: read.entries,
        plannerModel: "claude-sonnet-4-5",
        plannerPrice: { input_per_mtok: 3, output_per_mtok: 15 },
        tasks,
        warnings: read.warnings,
      });
    }),
  );
  // No index yet: the first report splits the whole ledger once into per-project shards. Each run
  // starts from no index, as after the index is lost.
  const rebuilds: number[] = [];
  for (let i = 0; i < MIN_RUNS; i++) {
    await rm(join(dir, INDEX_DIR), { recursive: true, force: true });
    rebuilds.push(await time(report));
  }
  const rebuild = runsOf(rebuilds);
  const steady = runsOf(await timedRuns(runs, report));
  // Appends keep the index current; a report then reads its shard and what the index lacks.
  const appended = quick ? 100 : 1_000;
  const ledger = new Ledger(ledgerPath, { fsync: false });
  for (let i = n; i < n + appended; i++) await ledger.append(record(i));
  const afterAppends = runsOf(await timedRuns(runs, report));
  // Records the index never saw (a kill after the append, another writer): the report catches up.
  // Each run finds another batch the index lacks.
  const catchUps: number[] = [];
  for (let i = 0; i < MIN_RUNS; i++) {
    await writeLedger(ledgerPath, n + appended * (i + 1), appended);
    catchUps.push(await time(report));
  }
  const catchUp = runsOf(catchUps);
  const cli = runsOf(
    await timedRuns(runs, () =>
      run(process.execPath, [CLI, "report", "--project", PROJECT, "--json", "--root", root], {
        cwd: root,
        maxBuffer: 64 << 20,
      }),
    ),
  );
  const load = loadNow();
  const size = `${label} records (${Math.round((await stat(ledgerPath)).size / 2 ** 20)} MiB) of ${PROJECTS} projects; the reported one: ${Math.ceil(n / PROJECTS).toLocaleString("en-US")} records over ${TASKS.toLocaleString("en-US")} tasks`;
  return [
    {
      group: GROUP,
      name: `savings report over ${label} ledger records (read, price, compute, write LOG.md), index in place`,
      value: steady.median,
      unit: "ms",
      runs: steady,
      reference: fullRead.median,
      referenceRuns: fullRead,
      ratio: round(steady.median / fullRead.median),
      goal: "ledger.report-1m",
      load,
      note: `${size}; reference: reading the whole ledger and computing, as every report did before the index (median of ${fullRead.n}, min ${fullRead.min} / max ${fullRead.max} ms); after ${appended.toLocaleString("en-US")} more appends: median ${afterAppends.median} ms (max ${afterAppends.max}). A project holding most of the ledger still reads all its own records: its report grows with its size`,
    },
    {
      group: GROUP,
      name: `first report with no index (split from the ${label}-record ledger), median`,
      value: rebuild.median,
      unit: "ms",
      runs: rebuild,
      load,
      note: "paid once per ledger (or after the index is lost or stale), then appends keep it current; each run starts with the index removed",
    },
    {
      group: GROUP,
      name: `report after ${appended.toLocaleString("en-US")} records appended without an index update (the crash case), median`,
      value: catchUp.median,
      unit: "ms",
      runs: catchUp,
      load,
      note: "the index is behind the ledger; the report splits the missing records into their shards first; each run follows another such batch",
    },
    {
      group: GROUP,
      name: `\`delegate-mcp report --project ${PROJECT} --json\` over ${label} records, spawn to exit`,
      value: cli.median,
      unit: "ms",
      runs: cli,
      goal: "ledger.cli-report-1m",
      load,
      note: "a fresh process each run: node start, the index checked against the ledger, the shard read, report printed",
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
