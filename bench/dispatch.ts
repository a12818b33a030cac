/**
 * Dispatch benchmarks, run against the built server over stdio with the fake LLM on 127.0.0.1:
 * (1) context efficiency: executor input tokens against the minimum it needs; (2) parallel
 * dispatch against the ideal schedule; (3) the size of the result the planner reads; (4) end-to-end
 * cost of a fixed workload, the regression guard on the savings.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { countTokens } from "gpt-tokenizer";
import { EXECUTOR_TOOLS } from "../src/core/executor-tools.js";
import { parseLines } from "../src/core/mini-task.js";
import { renderTaskForExecutor } from "../src/core/render.js";
import { DEFAULT_CONCURRENCY } from "../src/executor/dispatch.js";
import { LEDGER_FILE, Ledger } from "../src/store/ledger.js";
import {
  byTitle,
  type DispatchEnv,
  startDispatchEnv,
  type TaskScript,
  taskTitleOf,
  turnOf,
} from "../test/e2e/dispatch-helpers.js";
import { PROJECT_ROOT, type RunningServer, removeDir, startServer, textOf } from "../test/e2e/harness.js";
import type { FakeAnswer, FakeHandler, FakeMessage, FakeRequest } from "../test/fakes/llm-server.js";
import { toolUse } from "../test/fakes/llm-server.js";
import type { GoalId } from "./goals.js";
import { loadNow, MIN_RUNS, runsOf } from "./reference.js";
import { median, round, sleep, sum, timeMs } from "./stats.js";
import { cpuMs } from "./stdio.js";
import type { Bench, BenchRow } from "./types.js";

const GROUP = "dispatch";

// ---------------------------------------------------------------------------------------------
// Fixtures

const MATH = "export function add(a: number, b: number): number {\n  return a + b;\n}\n";

/** `n` lines of ordinary TypeScript: 8-line handler functions. */
function handlers(n: number): string {
  const lines: string[] = [];
  for (let i = 0; lines.length < n; i++) {
    lines.push(
      `export function handler${i}(input: Request${i % 17}): Result {`,
      `  const value = input.amount * ${(i % 13) + 1} + ${i % 7};`,
      "  if (value > LIMIT) {",
      `    return { ok: false, reason: "limit exceeded in handler ${i}" };`,
      "  }",
      "  return { ok: true, value };",
      "}",
      "",
    );
  }
  return `${lines.slice(0, n).join("\n")}\n`;
}

function interfaces(n: number): string {
  const lines: string[] = [];
  for (let i = 0; lines.length < n; i++) {
    lines.push(
      `export interface Record${i} {`,
      "  id: string;",
      `  amount${i}: number;`,
      "  createdAt: Date;",
      `  tags: readonly string[]; // used by report section ${i}`,
      "}",
      "",
    );
  }
  return `${lines.slice(0, n).join("\n")}\n`;
}

function formatters(n: number): string {
  const lines: string[] = [];
  for (let i = 0; lines.length < n; i++) {
    lines.push(
      `export function format${i}(value: number, locale = "en-US"): string {`,
      `  const digits = ${i % 4};`,
      "  return value.toLocaleString(locale, { maximumFractionDigits: digits });",
      "}",
      "",
    );
  }
  return `${lines.slice(0, n).join("\n")}\n`;
}

const FILES: Record<string, string> = {
  "src/math.ts": MATH,
  "src/types.ts": interfaces(80),
  "src/format.ts": formatters(120),
  "src/handlers.ts": handlers(3000),
  "src/service.ts": handlers(400),
};

const PROJECT = "bench";

function baseSpec(title: string, overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    project: PROJECT,
    title,
    objective: "Add a subtract function next to add in src/math.ts.",
    files_to_read: [{ path: "src/math.ts" }],
    files_to_modify: [{ path: "src/math.ts", action: "edit" }],
    steps: ["Add an exported function subtract(a, b) after add that returns a - b."],
    acceptance_criteria: ["src/math.ts exports subtract"],
    validation: [{ run: "grep -q 'export function subtract' src/math.ts" }],
    ...overrides,
  };
}

const finish = (title: string, status: "complete" | "failed" = "complete") =>
  toolUse("finish", {
    status,
    summary: `Mini-Task: ${title} — ${status === "complete" ? "COMPLETE ✅" : "FAILED ❌"}\nChanged: the listed file: as specified\nValidation: ${status === "complete" ? "passed" : "failed"}\nNotes: none`,
  });

// ---------------------------------------------------------------------------------------------
// Helpers

async function create(
  env: DispatchEnv,
  spec: Record<string, unknown>,
): Promise<{ id: string; path: string }> {
  const r = await env.server.call("create_mini_task", spec);
  if (r.isError) throw new Error(`create_mini_task failed: ${textOf(r)}`);
  return r.structuredContent as { id: string; path: string };
}

interface TaskResult {
  task_id: string;
  status: string;
}

async function dispatch(
  env: DispatchEnv,
  args: Record<string, unknown>,
): Promise<{ structured: { results: TaskResult[] }; ms: number }> {
  let structured: { results: TaskResult[] } | undefined;
  const ms = await timeMs(async () => {
    const r = await env.server.call("dispatch_to_small_model", args);
    if (r.isError) throw new Error(`dispatch_to_small_model failed: ${textOf(r)}`);
    structured = r.structuredContent as { results: TaskResult[] };
  });
  return { structured: structured!, ms };
}

function messageTokens(m: FakeMessage): number {
  return (
    countTokens(m.text) +
    m.toolCalls.reduce((n, c) => n + countTokens(JSON.stringify(c.arguments)), 0) +
    m.toolResults.reduce((n, r) => n + countTokens(r.content), 0)
  );
}

/** o200k tokens of what one request sent: system + tool definitions as on the wire + messages. */
function sentTokens(req: FakeRequest): { total: number; tools: number } {
  const tools = countTokens(JSON.stringify(req.body.tools ?? []));
  const total = countTokens(req.system) + tools + req.messages.reduce((n, m) => n + messageTokens(m), 0);
  return { total, tools };
}

function linesOf(text: string, start: number, end: number): string {
  return text
    .split("\n")
    .slice(start - 1, end)
    .join("\n");
}

// ---------------------------------------------------------------------------------------------
// (1) Context efficiency

interface Shape {
  label: string;
  goal: GoalId;
  title: string;
  spec: Record<string, unknown>;
}

const SHAPES: Shape[] = [
  {
    label: "3-line file, edit",
    goal: "dispatch.context-small",
    title: "Ctx small edit",
    spec: {},
  },
  {
    label: "new file from two ranges (40 + 41 lines)",
    goal: "dispatch.context-two-ranges",
    title: "Ctx two excerpts",
    spec: {
      objective: "Create src/summary.ts that formats Record0 amounts with format3.",
      files_to_read: [
        { path: "src/types.ts", lines: "1-40" },
        { path: "src/format.ts", lines: "20-60" },
      ],
      files_to_modify: [{ path: "src/summary.ts", action: "create" }],
      steps: [
        "Create src/summary.ts exporting summarize(records: Record0[]): string.",
        "Import Record0 from ./types.js and format3 from ./format.js.",
        "Return the amounts formatted with format3, joined by ', '.",
      ],
      snippets: [
        {
          language: "ts",
          code: 'export function summarize(records: Record0[]): string {\n  return records.map((r) => format3(r.amount0)).join(", ");\n}',
        },
      ],
      acceptance_criteria: ["src/summary.ts exports summarize"],
      validation: [{ run: "test -f src/types.ts" }],
    },
  },
  {
    label: "120-line file, whole file read, edit",
    goal: "dispatch.context-whole-file",
    title: "Ctx whole medium file",
    spec: {
      objective: "Make format0 use two fraction digits in src/format.ts.",
      files_to_read: [{ path: "src/format.ts" }],
      files_to_modify: [{ path: "src/format.ts", action: "edit" }],
      steps: ["In format0, change `const digits = 0;` to `const digits = 2;`."],
      acceptance_criteria: ["format0 uses two fraction digits"],
      validation: [{ run: "test -f src/format.ts" }],
    },
  },
  {
    label: "in the 2,000–5,000 sweet spot: 160-line range + 120-line file edited whole",
    goal: "dispatch.context-sweet-spot",
    title: "Ctx sweet spot",
    spec: {
      objective: "Make format0 to format9 in src/format.ts use the LIMIT rule of the service handlers.",
      files_to_read: [{ path: "src/service.ts", lines: "1-160" }, { path: "src/format.ts" }],
      files_to_modify: [{ path: "src/format.ts", action: "edit" }],
      steps: [
        'In format0 to format9, return the string "over limit" when value > LIMIT, as the handlers do.',
        "Import LIMIT from ./service.js at the top of src/format.ts.",
      ],
      acceptance_criteria: ['format0 to format9 return "over limit" above LIMIT'],
      validation: [{ run: "test -f src/format.ts" }],
    },
  },
  {
    label: "3,000-line file, 30-line range, edit",
    goal: "dispatch.context-big-file",
    title: "Ctx big file range",
    spec: {
      objective: "Make handler187 reject negative amounts in src/handlers.ts.",
      files_to_read: [{ path: "src/handlers.ts", lines: "1497-1526" }],
      files_to_modify: [{ path: "src/handlers.ts", action: "edit" }],
      steps: [
        'In handler187, before computing value, return { ok: false, reason: "negative amount" } when input.amount < 0.',
      ],
      acceptance_criteria: ["handler187 rejects a negative amount"],
      validation: [{ run: "test -f src/handlers.ts" }],
    },
  },
];

async function contextRows(env: DispatchEnv): Promise<BenchRow[]> {
  const system = readFileSync(join(PROJECT_ROOT, "templates/executor-system.md"), "utf8");
  env.fake.setHandler(byTitle(Object.fromEntries(SHAPES.map((s) => [s.title, [finish(s.title)]]))));
  const rows: BenchRow[] = [];
  for (const shape of SHAPES) {
    const created = await create(env, baseSpec(shape.title, shape.spec));
    await dispatch(env, { task_id: created.id });
    const first = env.fake.requests.find((q) => taskTitleOf(q) === shape.title && turnOf(q) === 0);
    if (!first) throw new Error(`the fake LLM never saw task ${shape.title}`);
    const stored = JSON.parse(readFileSync(join(env.repo, created.path), "utf8"));
    const excerpts = (stored.files_to_read as { path: string; lines?: string }[]).map((f) => {
      const text = FILES[f.path]!;
      const r = f.lines ? parseLines(f.lines)! : { start: 1, end: text.split("\n").length - 1 };
      return countTokens(linesOf(text, r.start, r.end));
    });
    // The minimum is DESIGN's executor prompt without any packing of ours: the stable prefix (system
    // prompt + the executor's tool interface, both fixed by the contract), the rendered spec, and
    // the requested lines as raw text (line numbers and file tags count as our overhead).
    const toolInterface = countTokens(JSON.stringify(EXECUTOR_TOOLS));
    const bare =
      countTokens(system) + countTokens(renderTaskForExecutor(stored)) + excerpts.reduce((a, b) => a + b, 0);
    const minimum = bare + toolInterface;
    const sent = sentTokens(first);
    const ratio = sent.total / minimum;
    const packing = sent.total - minimum;
    rows.push({
      group: GROUP,
      name: `context efficiency: ${shape.label}`,
      value: sent.total,
      unit: "tokens",
      reference: minimum,
      ratio: round(ratio),
      goal: shape.goal,
      note: `first request as sent (system + tool definitions + messages) vs minimum (system prompt + executor tool interface ${toolInterface} + rendered spec + the requested lines, raw); packing over the minimum (line numbers, file tags, headings, wire form of the tools): ${packing}; against the minimum without the tool interface: ${round(sent.total / bare)}×`,
    });
  }
  return rows;
}

/**
 * Prompt caching on the executor's later turns, with the fake's Anthropic cache rules (breakpoints,
 * the model's minimum cacheable length, 20-block lookback): one task above claude-haiku-4-5's
 * 4,096-token minimum and one below it, each three turns (run_validation twice, finish).
 */
async function cacheRows(env: DispatchEnv): Promise<BenchRow[]> {
  const cases = [
    { title: "Cache above minimum", lines: "1-400", goal: true },
    { title: "Cache below minimum", lines: "1-120", goal: false },
  ];
  const turns = (title: string) => [
    toolUse("run_validation", {}),
    toolUse("run_validation", {}),
    finish(title),
  ];
  env.fake.setHandler(byTitle(Object.fromEntries(cases.map((c) => [c.title, turns(c.title)]))));
  const rows: BenchRow[] = [];
  for (const c of cases) {
    const created = await create(
      env,
      baseSpec(c.title, {
        objective: "Check that src/service.ts is in place; change nothing.",
        files_to_read: [{ path: "src/service.ts", lines: c.lines }],
        files_to_modify: [{ path: "src/format.ts", action: "edit" }],
        steps: ["Run the validation twice, then finish: the file is already as required."],
        acceptance_criteria: ["src/service.ts exists"],
        validation: [{ run: "test -f src/service.ts" }],
      }),
    );
    await dispatch(env, { task_id: created.id });
    const records = (await new Ledger(join(env.root, "mini-projects", LEDGER_FILE)).read()).entries.filter(
      (e) => e.task === created.id && e.phase === "execution",
    );
    if (records.length !== 3)
      throw new Error(`${c.title}: expected 3 executor records, got ${records.length}`);
    const later = records.slice(1);
    const read = later.reduce((n, e) => n + e.cache_read_tokens, 0);
    const input = later.reduce((n, e) => n + e.input_tokens + e.cache_read_tokens + e.cache_write_tokens, 0);
    const first = records[0]!;
    const firstInput = first.input_tokens + first.cache_read_tokens + first.cache_write_tokens;
    rows.push({
      group: "cost",
      name: `prompt-cache reads on the executor's 2nd+ turn, share of that turn's input: ${firstInput.toLocaleString("en-US")}-token first request on claude-haiku-4-5 (minimum cacheable 4,096)`,
      value: round((read / input) * 100, 1),
      unit: "%",
      ...(c.goal ? { goal: "cost.cache-read-turn-2" as const } : {}),
      note: `turns 2–3: ${read.toLocaleString("en-US")} of ${input.toLocaleString("en-US")} input tokens read from the cache; turn 1 wrote ${first.cache_write_tokens.toLocaleString("en-US")}.${c.goal ? "" : " Below the model's minimum the API caches nothing: such tasks pay full input on every turn."}`,
    });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// (2) Parallel dispatch against the ideal schedule

const CALLS_PER_TASK = 2;

function genSpec(i: number): { title: string; spec: Record<string, unknown>; script: TaskScript } {
  const n = String(i).padStart(2, "0");
  const path = `src/gen/t${n}.ts`;
  const title = `Gen ${n}`;
  return {
    title,
    spec: baseSpec(title, {
      objective: `Create ${path} exporting the constant ID = ${i}.`,
      files_to_read: [{ path: "src/math.ts" }],
      files_to_modify: [{ path, action: "create" }],
      steps: [`Create ${path} containing: export const ID = ${i};`],
      acceptance_criteria: [`${path} exports ID = ${i}`],
      validation: [{ run: `grep -q 'ID = ${i};' ${path}` }],
    }),
    script: [toolUse("write_file", { path, content: `export const ID = ${i};\n` }), finish(title)],
  };
}

interface ParallelCase {
  goal: GoalId;
  tasks: number;
  /** Servers on the one repository, each dispatching its share of the tasks in one call. */
  servers: number;
}

/** Dispatches `ids` split across `servers` (each server's share in one call, all at once); wall time. */
async function dispatchAcross(
  servers: RunningServer[],
  ids: string[],
): Promise<{ ms: number; failed: unknown[] }> {
  const share = Math.ceil(ids.length / servers.length);
  const failed: unknown[] = [];
  const ms = await timeMs(async () => {
    await Promise.all(
      servers.map(async (server, i) => {
        const mine = ids.slice(i * share, (i + 1) * share);
        const r = await server.call("dispatch_to_small_model", { task_ids: mine });
        if (r.isError) throw new Error(`dispatch_to_small_model failed: ${textOf(r)}`);
        const results = (r.structuredContent as { results: TaskResult[] }).results;
        failed.push(...results.filter((x) => x.status !== "passed"));
      }),
    );
  });
  return { ms, failed };
}

/** One batch of a parallel case: its wall time and where its CPU went. */
interface BatchSample {
  ms: number;
  /** The first server with its children, per task it ran. */
  cpuPerTask: number;
  /** The first server alone, per task it ran. */
  ownPerTask: number;
  /** This process (fake LLM, MCP clients), per task. */
  benchPerTask: number;
  /** All the CPU the batch used over the machine's cores: the least wall time it allows. */
  cpuFloor: number;
}

async function runBatch(servers: RunningServer[], ids: string[], c: ParallelCase): Promise<BatchSample> {
  const pids = servers.map((s) => (s.client.transport as StdioClientTransport).pid!);
  const pid = pids[0]!;
  const allBefore = sum(pids.map((p) => cpuMs(p, { children: true })));
  const cpuBefore = cpuMs(pid, { children: true });
  const ownBefore = cpuMs(pid);
  const benchBefore = process.cpuUsage();
  const batch = await dispatchAcross(servers, ids);
  if (batch.failed.length) throw new Error(`parallel tasks did not pass: ${JSON.stringify(batch.failed)}`);
  const perTask = c.tasks / c.servers;
  const bench = process.cpuUsage(benchBefore);
  const benchPerTask = (bench.user + bench.system) / 1000 / c.tasks;
  const allCpu = sum(pids.map((p) => cpuMs(p, { children: true }))) - allBefore + benchPerTask * c.tasks;
  return {
    ms: batch.ms,
    cpuPerTask: (cpuMs(pid, { children: true }) - cpuBefore) / perTask,
    ownPerTask: (cpuMs(pid) - ownBefore) / perTask,
    benchPerTask,
    cpuFloor: allCpu / availableParallelism(),
  };
}

/** Runs per timed figure; the cases take turns, so drifts in machine load hit each alike. */
const REPEATS = MIN_RUNS;

async function parallelRows(env: DispatchEnv, quick: boolean): Promise<BenchRow[]> {
  const latencyMs = quick ? 100 : 300;
  const concurrency = DEFAULT_CONCURRENCY;
  const cases: ParallelCase[] = [
    { goal: "dispatch.parallel-20", tasks: quick ? 2 : 20, servers: 1 },
    { goal: "dispatch.parallel-50", tasks: quick ? 3 : 50, servers: 1 },
    { goal: "dispatch.parallel-two-servers", tasks: quick ? 2 : 20, servers: 2 },
  ];
  const total = REPEATS * (1 + sum(cases.map((c) => c.tasks)));
  const gens = Array.from({ length: total }, (_, i) => genSpec(i + 1));
  const route = byTitle(Object.fromEntries(gens.map((g) => [g.title, g.script])));
  env.fake.setHandler(async (req) => {
    await sleep(latencyMs);
    return route(req);
  });
  const ids: string[] = [];
  for (const g of gens) ids.push((await create(env, g.spec)).id);
  const second = await startServer({ root: env.root, env: { FAKE_KEY: "test-key" } });
  const criticalPath = CALLS_PER_TASK * latencyMs;
  const rows: BenchRow[] = [];
  let next = 0;
  const take = (n: number) => {
    next += n;
    return ids.slice(next - n, next);
  };
  try {
    // One task alone: the per-task critical path as this server actually runs it.
    const alone: number[] = [];
    const samples = cases.map(() => [] as BatchSample[]);
    for (let r = 0; r < REPEATS; r++) {
      alone.push((await dispatch(env, { task_id: take(1)[0]! })).ms);
      for (const [i, c] of cases.entries()) {
        const servers = c.servers === 1 ? [env.server] : [env.server, second];
        samples[i]!.push(await runBatch(servers, take(c.tasks), c));
      }
    }
    const aloneRuns = runsOf(alone, 0);
    for (const [i, c] of cases.entries()) {
      const got = samples[i]!;
      const runs = runsOf(
        got.map((x) => x.ms),
        0,
      );
      const mid = (pick: (x: BatchSample) => number) => Math.round(median(got.map(pick)));
      const rounds = Math.ceil(c.tasks / c.servers / concurrency);
      const ideal = rounds * criticalPath;
      const who =
        c.servers === 1
          ? "one server"
          : `${c.servers} servers on one repository, ${c.tasks / c.servers} tasks each`;
      rows.push({
        group: GROUP,
        name: `parallel dispatch: ${c.tasks} independent tasks, ${who}, ${latencyMs} ms per LLM call, median`,
        value: runs.median,
        unit: "ms",
        runs,
        reference: ideal,
        ratio: round(runs.median / ideal),
        goal: c.goal,
        load: loadNow(),
        note: `ideal = ${rounds} rounds (concurrency ${concurrency} per server) × per-task critical path (${CALLS_PER_TASK} calls × ${latencyMs} ms) = ${ideal} ms; every task passed; against ${rounds} × the task alone (${aloneRuns.median} ms): ${round(runs.median / (rounds * aloneRuns.median))}×; CPU per task (medians): the first server ${mid((x) => x.cpuPerTask)} ms (${mid((x) => x.ownPerTask)} ms its own, the rest its git and validation children), this bench process (fake LLM and MCP client) ${mid((x) => x.benchPerTask)} ms; CPU floor (all the CPU the batch used ÷ ${availableParallelism()} cores) ${mid((x) => x.cpuFloor)} ms = ${round(mid((x) => x.cpuFloor) / ideal)}× the ideal`,
      });
    }
    rows.push({
      group: GROUP,
      name: "one such task dispatched alone, median",
      value: aloneRuns.median,
      unit: "ms",
      runs: aloneRuns,
      reference: criticalPath,
      ratio: round(aloneRuns.median / criticalPath),
      load: loadNow(),
      note: `server work per task beyond the ${CALLS_PER_TASK} LLM calls (worktree, validation, commit, records): ${Math.round(aloneRuns.median - criticalPath)} ms`,
    });
  } finally {
    await second.close();
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// (3) What the planner reads back

const LONG_FAILURE =
  'for i in $(seq 1 400); do echo "FAIL test/math.test.ts > subtract case $i: expected subtract(5, 3) to be 2, received undefined"; done; exit 1';

async function resultSizeRows(env: DispatchEnv): Promise<BenchRow[]> {
  const edit = toolUse("edit_file", {
    path: "src/math.ts",
    old_string: "  return a + b;\n}\n",
    new_string:
      "  return a + b;\n}\n\nexport function subtract(a: number, b: number): number {\n  return a - b;\n}\n",
  });
  env.fake.setHandler(
    byTitle({
      "Size passing": [edit, finish("Size passing")],
      "Size failing": [edit, finish("Size failing", "failed")],
    }),
  );
  const passing = await create(env, baseSpec("Size passing", {}));
  const failing = await create(env, baseSpec("Size failing", { validation: [{ run: LONG_FAILURE }] }));
  const rows: BenchRow[] = [];
  for (const [label, id, goal] of [
    ["passing", passing.id, "dispatch.result-passing"],
    ["failing (400 lines of failure output)", failing.id, "dispatch.result-failing"],
  ] as const) {
    const { structured } = await dispatch(env, { task_id: id });
    const tokens = countTokens(JSON.stringify(structured));
    rows.push({
      group: GROUP,
      name: `result the planner reads, ${label}`,
      value: tokens,
      unit: "tokens",
      goal,
      note: `o200k of JSON.stringify(structuredContent) for one task; status ${structured.results[0]!.status}`,
    });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// (4) End-to-end cost of a fixed workload

/** The executor's prescribed flow (templates/executor-system.md): edit, run_validation once, finish. */
const COST_CALLS_PER_TASK = 3;
/** Fixed output per executor call, so only the input (measured for real) can drift. */
const OUTPUT_TOKENS_PER_CALL = 100;
/** The planner's own work for the whole workload, on sonnet: the same every run. */
const PLANNER_WORKLOAD = [
  { phase: "exploration", input_tokens: 45_000, output_tokens: 1_200 },
  { phase: "planning", input_tokens: 20_000, output_tokens: 7_000 },
  { phase: "verification", input_tokens: 35_000, output_tokens: 2_500 },
] as const;
const COST_PROJECT = "fixed-workload";

function moduleFile(k: number): string {
  const lines = [`// Module ${k}: small numeric helpers.`, ""];
  for (let f = 0; f < 12; f++) {
    lines.push(
      `/** Scales a value by ${f + k} and clamps it at zero. */`,
      `export function scale${k}_${f}(value: number): number {`,
      `  const scaled = value * ${f + k};`,
      "  return scaled < 0 ? 0 : scaled;",
      "}",
      "",
    );
  }
  lines.push("// end of module");
  return `${lines.join("\n")}\n`;
}

function costTask(k: number): { title: string; spec: Record<string, unknown>; script: TaskScript } {
  const path = `src/lib/mod${k}.ts`;
  const title = `Add halve to mod${k}`;
  const fn = `export function halve${k}(value: number): number {\n  return value / 2;\n}\n`;
  return {
    title,
    spec: {
      project: COST_PROJECT,
      title,
      objective: `Add an exported halve${k}(value) to ${path} that returns value / 2.`,
      files_to_read: [{ path, lines: "1-20" }],
      files_to_modify: [{ path, action: "edit" }],
      steps: [`Insert the snippet just above the line "// end of module" in ${path}.`],
      snippets: [{ language: "ts", code: fn.trimEnd() }],
      acceptance_criteria: [`${path} exports halve${k}`],
      validation: [{ run: `grep -q 'export function halve${k}' ${path}` }],
    },
    script: [
      toolUse("edit_file", {
        path,
        old_string: "// end of module\n",
        new_string: `${fn}\n// end of module\n`,
      }),
      toolUse("run_validation", {}),
      finish(title),
    ],
  };
}

/** The fake's usage: the real o200k count of the request's input, and a fixed output. */
function withMeasuredUsage(route: FakeHandler): FakeHandler {
  return async (req) => {
    const reply = (await route(req)) as FakeAnswer;
    return {
      ...reply,
      usage: { input_tokens: sentTokens(req).total, output_tokens: OUTPUT_TOKENS_PER_CALL },
    };
  };
}

async function costRows(quick: boolean): Promise<BenchRow[]> {
  const count = quick ? 3 : 10;
  const tasks = Array.from({ length: count }, (_, k) => costTask(k));
  const files = Object.fromEntries(tasks.map((_, k) => [`src/lib/mod${k}.ts`, moduleFile(k)]));
  const env = await startDispatchEnv(files);
  try {
    env.fake.setHandler(
      withMeasuredUsage(byTitle(Object.fromEntries(tasks.map((t) => [t.title, t.script])))),
    );
    const ids: string[] = [];
    for (const t of tasks) ids.push((await create(env, t.spec)).id);
    const { structured } = await dispatch(env, { task_ids: ids });
    const notPassed = structured.results.filter((r) => r.status !== "passed");
    if (notPassed.length) throw new Error(`workload tasks did not pass: ${JSON.stringify(notPassed)}`);
    for (const w of PLANNER_WORKLOAD) {
      const r = await env.server.call("log_tokens", { project: COST_PROJECT, model: "sonnet", ...w });
      if (r.isError) throw new Error(`log_tokens failed: ${textOf(r)}`);
    }
    const r = await env.server.call("savings_report", { project: COST_PROJECT });
    if (r.isError) throw new Error(`savings_report failed: ${textOf(r)}`);
    const report = r.structuredContent as {
      actual_cost_usd: number;
      counterfactual_cost_usd: number;
      savings_usd: number;
      savings_pct: number;
      counterfactual_basis: string;
      by_phase: { phase: string; input_tokens: number; output_tokens: number; cost_usd: number | null }[];
      tasks: { error_pct?: { input: number | null } }[];
    };
    const inputErrors = report.tasks.map((t) => t.error_pct?.input).filter((e) => typeof e === "number");
    const execution = report.by_phase.find((p) => p.phase === "execution");
    const calls = env.fake.requests.length;
    if (calls !== count * COST_CALLS_PER_TASK)
      throw new Error(`expected ${count * COST_CALLS_PER_TASK} executor calls, the fake saw ${calls}`);
    const workload = `${count} tasks on claude-haiku-4-5 via the fake (each: edit_file, run_validation, finish; input = o200k count of system + tools + messages sent, output ${OUTPUT_TOKENS_PER_CALL} per call, ${OUTPUT_TOKENS_PER_CALL * COST_CALLS_PER_TASK} per task); planner on sonnet: ${PLANNER_WORKLOAD.map((w) => `${w.phase} ${w.input_tokens}/${w.output_tokens}`).join(", ")} (in/out)`;
    return [
      {
        group: "cost",
        name: "executor input tokens per task (real o200k count), mean",
        value: Math.round((execution?.input_tokens ?? 0) / count),
        unit: "tokens",
        note: `${calls} LLM calls for ${count} tasks`,
      },
      {
        group: "cost",
        name: "executor cost per task, mean",
        value: round((execution?.cost_usd ?? 0) / count, 5),
        unit: "USD",
      },
      {
        group: "cost",
        name: "estimate error of executor input (create_mini_task vs measured), mean |error|",
        value: round(inputErrors.reduce((a, e) => a + Math.abs(e), 0) / Math.max(1, inputErrors.length), 1),
        unit: "%",
        note: `(measured − estimate) / estimate, input incl. cached; negative = below the estimate; per task: ${[...new Set(inputErrors.map((e) => `${round(e, 1)} %`))].join(", ")}${new Set(inputErrors).size === 1 ? " (every task)" : ""}`,
      },
      {
        group: "cost",
        name: "fixed workload: actual cost vs all-big counterfactual",
        value: round(report.actual_cost_usd, 4),
        unit: "USD",
        reference: round(report.counterfactual_cost_usd, 4),
        ratio: round(report.actual_cost_usd / report.counterfactual_cost_usd),
        note: `counterfactual basis: ${report.counterfactual_basis}; ${workload}`,
      },
      {
        group: "cost",
        name: "fixed workload: savings",
        value: round(report.savings_pct, 1),
        unit: "%",
        goal: "cost.savings",
        note: `savings $${round(report.savings_usd, 4)}; a drop against the last RESULTS.md is a regression`,
      },
    ];
  } finally {
    await env.close();
    removeDir(env.repo);
  }
}

export const benchDispatch: Bench = async ({ quick }) => {
  const env = await startDispatchEnv(FILES);
  const rows: BenchRow[] = [];
  try {
    rows.push(...(await contextRows(env)));
    rows.push(...(await cacheRows(env)));
    rows.push(...(await parallelRows(env, quick)));
    rows.push(...(await resultSizeRows(env)));
  } finally {
    await env.close();
    removeDir(env.repo);
  }
  rows.push(...(await costRows(quick)));
  return rows;
};
