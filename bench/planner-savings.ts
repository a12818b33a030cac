/**
 * The savings model and the transcript import: (1) the fixed workload's savings three ways at a
 * planner context of 32k (Claude Code's floor with one MCP server), 60k and 120k; (2) savings
 * against task size and planner context ("when does this save money?"); (3) importing a 200 MB
 * Claude Code transcript: time and peak RSS, each against a reference measured in the same run.
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scenarioCost } from "../src/core/counterfactual.js";
import type { LedgerEntry } from "../src/core/ledger-entry.js";
import { costOf } from "../src/core/pricing.js";
import { computeSavings, type SessionTurn } from "../src/core/savings.js";
import { HAIKU, SONNET } from "../test/unit/ledger/fixtures/prices.js";
import { loadNow, MIN_RUNS, runsOf } from "./reference.js";
import { round } from "./stats.js";
import type { Bench, BenchRow } from "./types.js";

export const CONTEXTS = [32_000, 60_000, 120_000] as const;

/**
 * The fixed workload (bench/dispatch.ts "cost"): 10 tasks, 3 executor calls each, 4,517 input
 * tokens per task (its measured mean, split as the calls grow) and 100 output per call; the
 * planner's phases as that bench logs them (in/out): exploration 45,000/1,200, planning
 * 20,000/7,000, verification 35,000/2,500 — here as turns at the given context.
 */
const TASKS = 10;
const EXECUTOR_CALLS = [1_406, 1_506, 1_605];
const PLANNER = [
  { phase: "exploration", turns: 3, fresh: 45_000, output: 1_200, tools: [] as string[] },
  { phase: "delegation", turns: TASKS, fresh: 20_000, output: 7_000, tools: ["create_mini_task"] },
  { phase: "delegation", turns: 1, fresh: 500, output: 100, tools: ["dispatch_to_small_model"] },
  { phase: "verification", turns: TASKS, fresh: 35_000, output: 2_500, tools: ["review_task"] },
] as const;

function workload(context: number, measured: boolean): { entries: LedgerEntry[]; turns: SessionTurn[] } {
  let clock = Date.parse("2026-12-01T10:00:00Z");
  const ts = () => {
    clock += 1000;
    return new Date(clock).toISOString();
  };
  const entries: LedgerEntry[] = [];
  const base = { project: "fixed", provider: "anthropic", cache_write_tokens: 0 } as const;
  const planner = (phase: (typeof PLANNER)[number]) => {
    for (let i = 0; i < phase.turns; i++) {
      const usage = {
        input_tokens: Math.round(phase.fresh / phase.turns),
        output_tokens: Math.round(phase.output / phase.turns),
        cache_read_tokens: measured ? context : 0,
        cache_write_tokens: 0,
      };
      entries.push({
        ...base,
        ts: ts(),
        phase: phase.phase,
        model: "claude-sonnet-4-5",
        ...usage,
        cost_usd: costOf(usage, SONNET),
        ...(measured
          ? {
              source: "measured",
              origin: "client-transcript",
              session: "s",
              message_ids: [`m${clock}`],
              tools: [...phase.tools],
            }
          : { source: "reported", origin: "log_tokens" }),
      } as LedgerEntry);
    }
  };
  planner(PLANNER[0]);
  planner(PLANNER[1]);
  planner(PLANNER[2]);
  for (let t = 1; t <= TASKS; t++) {
    for (const input of EXECUTOR_CALLS) {
      const usage = { input_tokens: input, output_tokens: 100, cache_read_tokens: 0, cache_write_tokens: 0 };
      entries.push({
        ...base,
        ts: ts(),
        task: `fixed/${String(t).padStart(2, "0")}-t`,
        attempt: 1,
        phase: "execution",
        model: "claude-haiku-4-5",
        ...usage,
        cost_usd: costOf(usage, HAIKU),
        source: "measured",
        origin: "executor-api",
      });
    }
  }
  planner(PLANNER[3]);
  const turns = entries
    .filter((e) => e.origin === "client-transcript")
    .map((e) => ({ session: "s", ts: e.ts, project: e.project, phase: e.phase }));
  return { entries, turns };
}

function fixedWorkloadRows(): BenchRow[] {
  const rows: BenchRow[] = [];
  const report = (context: number, measured: boolean, extra: LedgerEntry[] = []) => {
    const { entries, turns } = workload(context, measured);
    return computeSavings({
      project: "fixed",
      entries: [...entries, ...extra],
      plannerModel: "claude-sonnet-4-5",
      plannerPrice: SONNET,
      sessionTurns: turns,
      tasks: [],
    });
  };
  for (const context of CONTEXTS) {
    const lower = report(context, true);
    // The planner's own all-big estimate, as planners log it: its phases plus the executor's tokens.
    const all = workload(context, true).entries;
    const estimate = all.reduce(
      (n, e) => n + (e.phase === "execution" ? (costOf({ ...e }, SONNET) ?? 0) : (e.cost_usd ?? 0)),
      0,
    );
    const baselineEntry: LedgerEntry = {
      ts: "2026-12-01T09:00:00.000Z",
      project: "fixed",
      phase: "baseline_estimate",
      model: "claude-sonnet-4-5",
      provider: "anthropic",
      input_tokens: 0,
      output_tokens: 0,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
      cost_usd: round(estimate, 6),
      source: "estimated",
    };
    const viaBaseline = report(context, false, [baselineEntry]);
    const unmeasured = report(context, false);
    const pct = (cf: number | null, actual: number | null) =>
      cf && actual !== null ? round(((cf - actual) / cf) * 100, 1) : Number.NaN;
    rows.push(
      {
        group: "savings model",
        name: `fixed workload at ${context / 1000}k planner context: modelled self-execution`,
        value: pct(lower.modelled_counterfactual_usd, lower.actual_cost_usd),
        unit: "%",
        reference: round(lower.modelled_counterfactual_usd ?? Number.NaN, 4),
        note: `actual $${round(lower.actual_cost_usd ?? 0, 4)} vs modelled $${round(lower.modelled_counterfactual_usd ?? 0, 4)}; ${lower.verdict}`,
      },
      {
        group: "savings model",
        name: `fixed workload at ${context / 1000}k planner context: lower bound (executor re-priced)`,
        value: pct(lower.repriced_counterfactual_usd, lower.actual_cost_usd),
        unit: "%",
        reference: round(lower.repriced_counterfactual_usd ?? Number.NaN, 4),
      },
      {
        group: "savings model",
        name: `fixed workload at ${context / 1000}k planner context: planner baseline (its phases + executor at Sonnet rates)`,
        value: pct(viaBaseline.counterfactual_cost_usd, unmeasured.actual_cost_usd),
        unit: "%",
        reference: round(viaBaseline.counterfactual_cost_usd ?? Number.NaN, 4),
        note: "the old all-big figure: it counts the planner's spec writing and review as if an all-big run paid them too",
      },
    );
  }
  return rows;
}

/** Savings (%) of delegating N small edits at each planner context, from core/counterfactual's model. */
export function savingsTable(): { label: string; pcts: number[] }[] {
  const shapes: { label: string; tasks: number; templated: boolean; executorTurns?: number }[] = [
    { label: "1 small edit", tasks: 1, templated: false },
    { label: "3 separate tasks", tasks: 3, templated: false },
    { label: "10 separate tasks", tasks: 10, templated: false },
    { label: "10 separate tasks, 8 executor turns each", tasks: 10, templated: false, executorTurns: 8 },
    { label: "10 repetitive edits (one template)", tasks: 10, templated: true },
    { label: "50 repetitive edits (one template)", tasks: 50, templated: true },
  ];
  return shapes.map((s) => ({
    label: s.label,
    pcts: CONTEXTS.map((plannerContext) =>
      round(
        scenarioCost({ ...s, plannerContext, plannerPrice: SONNET, executorPrice: HAIKU }).savings_pct,
        0,
      ),
    ),
  }));
}

function tableRows(): BenchRow[] {
  return savingsTable().flatMap(({ label, pcts }) =>
    pcts.map((value, i) => ({
      group: "savings model",
      name: `${label} at ${CONTEXTS[i]! / 1000}k planner context`,
      value,
      unit: "%",
      note: "Sonnet plans, Haiku executes; exploration excluded (it is in both)",
    })),
  );
}

/** Writes a Claude Code-shaped transcript of about `bytes`: big tool results between planner turns. */
function writeTranscript(path: string, bytes: number): number {
  const fd = openSync(path, "w");
  const filler = "x".repeat(20_000);
  let written = 0;
  let n = 0;
  try {
    while (written < bytes) {
      const ts = new Date(Date.parse("2026-12-01T10:00:00Z") + n * 1000).toISOString();
      const lines = [
        JSON.stringify({
          type: "assistant",
          isSidechain: false,
          requestId: `req_${n}`,
          timestamp: ts,
          message: {
            id: `msg_${n}`,
            model: "claude-sonnet-4-5",
            content: [
              {
                type: "tool_use",
                id: `t${n}`,
                name: n % 50 === 0 ? "mcp__delegate__list_tasks" : "Read",
                input: { project: "p" },
              },
            ],
            usage: {
              input_tokens: 5,
              output_tokens: 80,
              cache_read_input_tokens: 40_000 + n,
              cache_creation_input_tokens: 300,
            },
          },
        }),
        JSON.stringify({
          type: "user",
          isSidechain: false,
          timestamp: ts,
          message: {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: `t${n}`, content: filler }],
          },
        }),
      ];
      const text = `${lines.join("\n")}\n`;
      written += writeSync(fd, text);
      n++;
    }
  } finally {
    closeSync(fd);
  }
  return n;
}

/** Runs `script` in a fresh node and returns its JSON answer (its own peak RSS, its timing). */
function child(
  script: string,
  env: Record<string, string>,
): { ms: number; rssMb: number; imported?: number } {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out) as { ms: number; rssMb: number; imported?: number };
}

async function importRows(quick: boolean): Promise<BenchRow[]> {
  const bytes = quick ? 5 << 20 : 200 << 20;
  const root = mkdtempSync(join(tmpdir(), "bench-transcript-"));
  try {
    const session = "bench-session";
    const projectDir = "/bench/project";
    const folder = join(root, "projects", projectDir.replace(/[^A-Za-z0-9]/g, "-"));
    mkdirSync(folder, { recursive: true });
    const path = join(folder, `${session}.jsonl`);
    const messages = writeTranscript(path, bytes);
    const dist = new URL("../dist/", import.meta.url).href;
    const rss = "Math.round(process.resourceUsage().maxRSS / 1024)";
    // Reference: the same node reading the same file through a stream and doing nothing with it.
    const stream = () =>
      child(
        `import { createReadStream } from "node:fs";
         await import(${JSON.stringify(`${dist}store/planner-usage.js`)});
         const t = performance.now(); let n = 0;
         for await (const c of createReadStream(${JSON.stringify(path)}, { highWaterMark: 1 << 20 })) n += c.length;
         process.stdout.write(JSON.stringify({ ms: performance.now() - t, rssMb: ${rss} }));`,
        {},
      );
    // Each run imports into a new ledger, so every run imports every message.
    const importInto = (ledgerPath: string) =>
      child(
        `const { importPlannerUsage } = await import(${JSON.stringify(`${dist}store/planner-usage.js`)});
         const { Ledger } = await import(${JSON.stringify(`${dist}store/ledger.js`)});
         const t = performance.now();
         const r = await importPlannerUsage({ config: {}, env: process.env, ledger: new Ledger(${JSON.stringify(ledgerPath)}, { fsync: false }), session: { session: "${session}", projectDir: "${projectDir}" } });
         process.stdout.write(JSON.stringify({ ms: performance.now() - t, rssMb: ${rss}, imported: r.imported }));`,
        { CLAUDE_CONFIG_DIR: root },
      );
    const references: ReturnType<typeof child>[] = [];
    const imports: ReturnType<typeof child>[] = [];
    // The two take turns, so a burst of load falls on both.
    for (let i = 0; i < MIN_RUNS; i++) {
      references.push(stream());
      imports.push(importInto(join(root, `ledger-${i}.jsonl`)));
    }
    const load = loadNow();
    const timeRuns = runsOf(imports.map((r) => r.ms / 1000));
    const timeRef = runsOf(references.map((r) => r.ms / 1000));
    const rssRuns = runsOf(
      imports.map((r) => r.rssMb),
      0,
    );
    const rssRef = runsOf(
      references.map((r) => r.rssMb),
      0,
    );
    const importedCounts = [...new Set(imports.map((r) => r.imported))].join(", ");
    const mb = round(bytes / (1 << 20), 0);
    return [
      {
        group: "savings model",
        name: `import a ${mb} MB Claude Code transcript: time, median`,
        value: timeRuns.median,
        unit: "s",
        runs: timeRuns,
        reference: timeRef.median,
        referenceRuns: timeRef,
        ratio: round(timeRuns.median / timeRef.median),
        load,
        note: `${MIN_RUNS} runs each, taking turns, each a fresh node; reference: streaming the same file and discarding it; ${messages} planner messages, ${importedCounts} records imported per run`,
      },
      {
        group: "savings model",
        name: `import a ${mb} MB Claude Code transcript: peak RSS, median`,
        value: rssRuns.median,
        unit: "MB",
        runs: rssRuns,
        reference: rssRef.median,
        referenceRuns: rssRef,
        ratio: round(rssRuns.median / rssRef.median),
        goal: "savings-model.transcript-import-rss",
        load,
        note: "whole child process, same runs; reference: the same modules loaded, the file streamed and discarded",
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export const benchPlannerSavings: Bench = async ({ quick }) => [
  ...fixedWorkloadRows(),
  ...tableRows(),
  ...(await importRows(quick)),
];
