/**
 * A project of 3,000 tasks (quick: 120), through the built server over stdio: savings_report timed
 * and the size of its answer, and list_tasks paged to the end, its largest answer in bytes. The
 * fixture is a temp git repository whose tasks the store's own code wrote (createMiniTasks, then
 * each task's attempts and status as dispatch and accept leave them), with the executor's
 * per-call records and the planner's log_tokens records for them in the ledger.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { executorModel, plannerModel, type ResolvedModel } from "../src/config/models.js";
import type { Config } from "../src/config/schema.js";
import type { LedgerEntry, LedgerPhase } from "../src/core/ledger-entry.js";
import type { Attempt, MiniTaskSpec, StoredTask, TaskStatus } from "../src/core/mini-task.js";
import type { Usage } from "../src/core/usage.js";
import { createMiniTasks } from "../src/store/create-task.js";
import { ledgerAt } from "../src/store/ledger.js";
import { pricedEntry, priceEntry } from "../src/store/report.js";
import { TaskStore } from "../src/store/tasks.js";
import { resolveWorkspace } from "../src/store/workspace.js";
import { makeRepo, removeDir, startServer, textOf } from "../test/e2e/harness.js";
import { loadNow, runsOf } from "./reference.js";
import { round, timeMs } from "./stats.js";
import type { Bench, BenchRow } from "./types.js";

const GROUP = "ledger";
const PROJECT = "scale";
/** No delegate.config.json: the built-in haiku executor and sonnet planner, priced from the catalog. */
const CONFIG: Config = {};
/** Executor model calls per attempt: edit_file, run_validation, finish. */
const CALLS_PER_ATTEMPT = 3;

const fmt = (n: number) => n.toLocaleString("en-US");

/** A source module the tasks read and edit: 12 small exported functions. */
function moduleFile(m: number): string {
  const lines = [`// Module ${m}: numeric helpers.`, ""];
  for (let f = 0; f < 12; f++) {
    lines.push(
      `/** Scales a value by ${f + m} and clamps it at zero. */`,
      `export function scale${m}_${f}(value: number): number {`,
      `  const scaled = value * ${f + m};`,
      "  return scaled < 0 ? 0 : scaled;",
      "}",
      "",
    );
  }
  lines.push("// end of module");
  return `${lines.join("\n")}\n`;
}

const VERBS = ["Add", "Extract", "Rename", "Document", "Harden", "Inline"];

function spec(i: number, modules: number): MiniTaskSpec {
  const m = i % modules;
  const path = `src/lib/mod${m}.ts`;
  const fn = `helper${i}`;
  return {
    project: PROJECT,
    title: `${VERBS[i % VERBS.length]} ${fn} in mod${m} (clamp and round the scaled value)`,
    objective: `Add an exported ${fn}(value) to ${path} that clamps value at zero and rounds it.`,
    files_to_read: [{ path, lines: "1-20" }],
    files_to_modify: [{ path, action: "edit" }],
    steps: [`Insert the snippet just above the line "// end of module" in ${path}.`],
    snippets: [
      {
        language: "ts",
        code: `export function ${fn}(value: number): number {\n  return Math.round(value < 0 ? 0 : value);\n}`,
      },
    ],
    acceptance_criteria: [`${path} exports ${fn}`],
    validation: [{ run: `grep -q 'export function ${fn}' ${path}` }],
    depends_on: [],
  };
}

/** Where task i ends: most accepted, some failed, retried, discarded or waiting; the newest not run yet. */
function fate(i: number, n: number): { attempts: TaskStatus[]; status: TaskStatus } {
  if (i >= n - Math.max(1, Math.round(n / 100))) return { attempts: [], status: "ready" };
  if (i % 20 === 7) return { attempts: ["failed"], status: "failed" };
  if (i % 20 === 13) return { attempts: ["failed", "passed"], status: "accepted" };
  if (i % 50 === 11) return { attempts: ["failed"], status: "discarded" };
  if (i % 40 === 3) return { attempts: ["passed"], status: "passed" };
  return { attempts: ["passed"], status: "accepted" };
}

const BASE = Date.UTC(2026, 0, 1);
/** Task i is created 10 minutes after task i − 1; its attempts run in the minutes after. */
const at = (i: number, minutes = 0) => new Date(BASE + (i * 10 + minutes) * 60_000);

function sum(usages: Usage[]): Usage {
  return {
    input_tokens: usages.reduce((s, u) => s + u.input_tokens, 0),
    output_tokens: usages.reduce((s, u) => s + u.output_tokens, 0),
    cache_read_tokens: usages.reduce((s, u) => s + u.cache_read_tokens, 0),
    cache_write_tokens: usages.reduce((s, u) => s + u.cache_write_tokens, 0),
  };
}

/**
 * One attempt of task i as the executor leaves it, and its per-call ledger records: the prompt
 * cached on the first call and read back on the next two, within ±20 % of the estimate.
 */
async function attemptOf(
  task: StoredTask,
  i: number,
  n: number,
  status: TaskStatus,
  model: ResolvedModel,
): Promise<{ attempt: Attempt; records: LedgerEntry[] }> {
  const prompt = Math.round((task.estimate.input_tokens / CALLS_PER_ATTEMPT) * (0.8 + ((i * 37) % 41) / 100));
  const calls: Usage[] = Array.from({ length: CALLS_PER_ATTEMPT }, (_, k) => ({
    input_tokens: 40 + 60 * k + ((i + k) % 30),
    output_tokens: 60 + ((i * 7 + k * 13) % 140),
    cache_read_tokens: k === 0 ? 0 : prompt + 120 * k,
    cache_write_tokens: k === 0 ? prompt : 0,
  }));
  const records: LedgerEntry[] = [];
  for (const [k, usage] of calls.entries()) {
    records.push(
      await pricedEntry({
        project: PROJECT,
        task: task.id,
        attempt: n,
        phase: "execution",
        model,
        usage,
        source: "measured",
        origin: "executor-api",
        now: at(i, n * 3 + k),
        ...(status === "failed" && k === CALLS_PER_ATTEMPT - 1 ? { error: "validation failed" } : {}),
      }),
    );
  }
  const usage = sum(calls);
  const path = task.files_to_modify[0]!.path;
  const passed = status === "passed";
  const attempt: Attempt = {
    n,
    status,
    model: model.alias,
    provider: model.provider,
    started_at: at(i, n * 3).toISOString(),
    finished_at: at(i, n * 3 + CALLS_PER_ATTEMPT).toISOString(),
    turns: CALLS_PER_ATTEMPT,
    usage: { ...usage, cost_usd: await priceEntry(model, usage), model: model.alias },
    files_changed: [{ path, added: passed ? 4 : 3, removed: 0 }],
    out_of_scope: [],
    refused: [],
    validation: passed
      ? { passed: true, ran: 1 }
      : {
          passed: false,
          ran: 1,
          failed: [{ run: task.validation[0]!.run, exit_code: 1, output: "" }],
        },
    report: `Mini-Task: ${task.title} — ${passed ? "COMPLETE ✅" : "FAILED ❌"}\nChanged: ${path}: ${passed ? "added the helper" : "added a helper under another name"}\nValidation: ${passed ? "passed" : "failed"}\nNotes: none`,
    branch: `delegate/${task.id}`,
    base_commit: "0".repeat(40),
    ...(passed ? { head_commit: (i % 16).toString(16).repeat(40) } : {}),
  };
  return { attempt, records };
}

/** What the planner logs with log_tokens: per batch its exploration, planning and delegation, per task its review. */
async function plannerRecords(
  batch: StoredTask[],
  first: number,
  model: ResolvedModel,
): Promise<LedgerEntry[]> {
  const logged = (phase: LedgerPhase, input: number, output: number, now: Date, task?: string) =>
    pricedEntry({
      project: PROJECT,
      phase,
      model,
      usage: { input_tokens: input, output_tokens: output, cache_read_tokens: 0, cache_write_tokens: 0 },
      source: "reported",
      origin: "log_tokens",
      now,
      ...(task ? { task } : {}),
    });
  const out = [
    await logged("exploration", 30_000 + first, 1_200, at(first, -3)),
    await logged("planning", 18_000 + first, 6_000, at(first, -2)),
    await logged("delegation", 4_000, 2_500, at(first, -1)),
  ];
  for (const [j, t] of batch.entries())
    if (t.attempts.length)
      out.push(await logged("verification", 2_500 + (j % 9) * 100, 250, at(first + j, 9), t.id));
  return out;
}

interface Fixture {
  root: string;
  ids: string[];
  records: number;
  setupMs: number;
}

/**
 * `n` tasks of one project, created by createMiniTasks in batches of `modules` (one task per
 * module in a batch, as a planner splits work), each batch then run and reviewed as fate() says.
 */
async function makeFixture(n: number, modules: number): Promise<Fixture> {
  const files: Record<string, string> = { ".gitignore": "mini-projects/\n" };
  for (let m = 0; m < modules; m++) files[`src/lib/mod${m}.ts`] = moduleFile(m);
  const root = makeRepo(files);
  const start = performance.now();
  try {
    const ws = await resolveWorkspace({ flag: root, env: {} });
    const store = new TaskStore(ws);
    const ledger = ledgerAt(ws.dir);
    const executor = executorModel(CONFIG);
    const planner = plannerModel(CONFIG);
    const ids: string[] = [];
    let records = 0;
    for (let first = 0; first < n; first += modules) {
      const count = Math.min(modules, n - first);
      const specs = Array.from({ length: count }, (_, j) => spec(first + j, modules));
      const created = await createMiniTasks(ws, store, CONFIG, specs, { now: at(first) });
      if (!created.stored) throw new Error(`createMiniTasks refused: ${JSON.stringify(created.lint)}`);
      const batch: StoredTask[] = [];
      const batchRecords: LedgerEntry[] = [];
      for (const [j, result] of created.results.entries()) {
        const i = first + j;
        const task = result.task!;
        ids.push(task.id);
        const { attempts, status } = fate(i, n);
        const made: Attempt[] = [];
        for (const [k, s] of attempts.entries()) {
          const { attempt, records: r } = await attemptOf(task, i, k + 1, s, executor);
          made.push(attempt);
          batchRecords.push(...r);
        }
        batch.push(
          made.length
            ? await store.update(
                task.id,
                (t) => ({ ...t, attempts: made, status }),
                at(i, 3 * (made.length + 1) + 1),
              )
            : task,
        );
      }
      batchRecords.push(...(await plannerRecords(batch, first, planner)));
      batchRecords.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
      await ledger.appendMany(batchRecords);
      records += batchRecords.length;
    }
    return { root, ids, records, setupMs: performance.now() - start };
  } catch (err) {
    removeDir(root);
    throw err;
  }
}

/** The larger of the answer's text and its structured JSON, in UTF-8 bytes. */
function answerBytes(r: CallToolResult): { text: number; structured: number; max: number } {
  const text = Buffer.byteLength(textOf(r));
  const structured = Buffer.byteLength(JSON.stringify(r.structuredContent ?? null));
  return { text, structured, max: Math.max(text, structured) };
}

async function call(
  server: Awaited<ReturnType<typeof startServer>>,
  name: string,
  args: Record<string, unknown>,
): Promise<CallToolResult> {
  const r = await server.call(name, args);
  if (r.isError) throw new Error(`${name} failed: ${textOf(r)}`);
  return r;
}

export const benchTasksScale: Bench = async ({ quick }) => {
  // Quick: past one list_tasks page (PAGE_MAX 100), so the cursor is followed there too.
  const n = quick ? 120 : 3_000;
  const modules = quick ? 40 : 100;
  const runs = quick ? 3 : 5;
  const fixture = await makeFixture(n, modules);
  const label = `${fmt(n)} tasks`;
  try {
    const server = await startServer({ root: fixture.root });
    try {
      // savings_report: the first call loads the report code and the price catalog; then timed runs.
      let report: CallToolResult | undefined;
      const first = await timeMs(async () => {
        report = await call(server, "savings_report", { project: PROJECT });
      });
      const samples: number[] = [];
      let reportSize = answerBytes(report!);
      for (let k = 0; k < runs; k++) {
        samples.push(
          await timeMs(async () => {
            report = await call(server, "savings_report", { project: PROJECT });
          }),
        );
        const size = answerBytes(report!);
        if (size.max > reportSize.max) reportSize = size;
      }
      const timed = runsOf(samples);
      const load = loadNow();
      const structured = report!.structuredContent as {
        tasks: unknown[];
        totals: { records: number };
      };

      // list_tasks: every page of the project, following next_cursor to the end.
      const seen = new Map<string, number>();
      let pages = 0;
      let largest = { text: 0, structured: 0, max: 0 };
      let count: number | undefined;
      let cursor: string | undefined;
      const listMs = await timeMs(async () => {
        do {
          const r = await call(server, "list_tasks", {
            project: PROJECT,
            ...(cursor !== undefined ? { cursor } : {}),
          });
          const page = r.structuredContent as {
            count?: number;
            tasks: { id: string }[];
            next_cursor?: string;
          };
          pages++;
          if (pages === 1) count = page.count;
          if (pages > n + 1)
            throw new Error("list_tasks: more pages than tasks; the cursor does not advance");
          for (const t of page.tasks) seen.set(t.id, (seen.get(t.id) ?? 0) + 1);
          const size = answerBytes(r);
          if (size.max > largest.max) largest = size;
          cursor = page.next_cursor;
        } while (cursor !== undefined);
      });
      const twice = [...seen].filter(([, c]) => c > 1).map(([id]) => id);
      const missing = fixture.ids.filter((id) => !seen.has(id));
      const created = new Set(fixture.ids);
      const stray = [...seen.keys()].filter((id) => !created.has(id));
      if (twice.length || missing.length || stray.length || count !== n)
        throw new Error(
          `list_tasks paging: count ${count} of ${n}; ${twice.length} task(s) more than once (${twice.slice(0, 3).join(", ")}), ${missing.length} missing (${missing.slice(0, 3).join(", ")}), ${stray.length} not created here`,
        );

      const fixtureNote = `one project of ${label} written by createMiniTasks in batches of ${modules} (${modules} source modules), each then given its attempts and status (mostly accepted; some failed, retried, discarded, awaiting review, not run), and ${fmt(fixture.records)} ledger records (executor: ${CALLS_PER_ATTEMPT} measured calls per attempt; planner: log_tokens per batch and per review); fixture built in ${round(fixture.setupMs / 1000, 1)} s`;
      const rows: BenchRow[] = [
        {
          group: GROUP,
          name: `savings_report over stdio, one project of ${label} and ${fmt(fixture.records)} ledger records`,
          value: timed.median,
          unit: "ms",
          runs: timed,
          goal: "ledger.report-3000-tasks",
          load,
          note: `built server (dist/cli.js) over stdio, call to answer, LOG.md and its picture written each time; the first call (report code and price catalog loaded) took ${round(first)} ms and is not in the runs; ${fixtureNote}`,
        },
        {
          group: GROUP,
          name: `savings_report answer with ${label}, larger of text and structured`,
          value: reportSize.max,
          unit: "bytes",
          goal: "ledger.report-3000-bytes",
          note: `UTF-8 bytes, largest over ${runs + 1} calls: text ${fmt(reportSize.text)}, JSON.stringify(structuredContent) ${fmt(reportSize.structured)}; ${structured.tasks.length} of ${fmt(n)} task rows in the answer (the rest in LOG.md), ${fmt(structured.totals.records)} records counted`,
        },
        {
          group: GROUP,
          name: `list_tasks paged through ${label} with next_cursor, largest answer`,
          value: largest.max,
          unit: "bytes",
          goal: "ledger.list-3000-page-bytes",
          load: loadNow(),
          note: `UTF-8 bytes of the largest page: text ${fmt(largest.text)}, JSON.stringify(structuredContent) ${fmt(largest.structured)}; ${pages} page(s), every one of the ${fmt(n)} tasks exactly once (checked), count ${fmt(count!)} on the first page; all pages in ${round(listMs)} ms (${round(listMs / pages)} ms per page)`,
        },
      ];
      return rows;
    } finally {
      await server.close();
    }
  } finally {
    removeDir(fixture.root);
  }
};
