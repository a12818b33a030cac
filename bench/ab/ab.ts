/**
 * A/B in the real client: the same work done by Claude Code (the pinned CLI, headless, offline,
 * API at the fake LLM) two ways — "self" (the planner reads, writes and tests with Claude Code's
 * own tools) and "delegate" (the planner uses this server in the fewest turns the tools allow).
 *
 * The models are scripted; the turn counts below are the assumptions, stated. Token figures are
 * not: the fake derives every usage from the request size the same way for both arms (4 bytes a
 * token, Anthropic prompt caching simulated with the model's minimum), the planner's usage is read
 * back from Claude Code's own transcript, the executor's from the ledger, and both are priced with
 * the same catalog.
 *
 * Two sessions per arm: "fresh" (a new session: its first turn writes the whole starting context
 * to the prompt cache, which both arms pay) and "warm" (the same run again on the same fake, with
 * the same HOME and the repository reset, so Claude Code sends the same starting bytes and they
 * are already cached, as in a session under way).
 *
 * `npm run bench` runs it (the "ab" bench; quick mode: the 10-target edit at no padding only), and
 * it runs alone, printing its table:
 *
 *   npx tsx bench/ab/ab.ts [--pads 0,68000]
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { resolveModel } from "../../src/config/models.js";
import { priceOf } from "../../src/config/price-catalog.js";
import { costOf } from "../../src/core/pricing.js";
import { runClaudeCode } from "../../test/fakes/claude-code.js";
import { type FakeAnswer, type FakeRequest, startFakeLlm } from "../../test/fakes/llm-server.js";
import type { Bench, BenchRow } from "../types.js";
import { SNIPPET_ANCHOR, SNIPPET_CHANGE, SNIPPET_FILE } from "./snippet-work.js";

const CLI = new URL("../../dist/cli.js", import.meta.url).pathname;
export const T = (name: string) => `mcp__delegate__${name}`;

// ------------------------------------------------------------------ the work

const GROUPS = ["dates", "money", "strings", "lists", "paths", "flags"];
function groupCode(g: string): string {
  return Array.from(
    { length: 8 },
    (_, i) =>
      `/** ${g} helper ${i}: returns its input combined with ${i}. */\nexport function ${g}${i}(value: number): number {\n  const base = value * ${i + 1};\n  return base + ${i};\n}\n`,
  ).join("\n");
}
const BIG = GROUPS.map((g) => `// ---- ${g}\n${groupCode(g)}`).join("\n");
const bigLines = BIG.split("\n");
function rangeOf(g: string): string {
  const start = bigLines.indexOf(`// ---- ${g}`) + 2;
  let end = start;
  while (end < bigLines.length && !bigLines[end]!.startsWith("// ----")) end++;
  return `${start}-${end - 1}`;
}
const TARGETS = Array.from({ length: 10 }, (_, i) => `h${i}`);
const HANDLER = (n: string) => `export function ${n}(input: string): string {\n  return input.trim();\n}\n`;

function makeRepo(pad: number, extra: Record<string, string> = {}): string {
  const repo = realpathSync(mkdtempSync(join(tmpdir(), "ab-")));
  const files: Record<string, string> = {
    ...extra,
    "src/big.ts": BIG,
    ...Object.fromEntries(TARGETS.map((n) => [`src/handlers/${n}.ts`, HANDLER(n)])),
    ".gitignore": "mini-projects/\n",
    "delegate.config.json": "{}",
  };
  // The planner's starting context beyond Claude Code's own: project notes it loads every turn.
  if (pad > 0)
    files["CLAUDE.md"] =
      `# Project notes\n${"Notes about the project kept for context. ".repeat(Math.ceil((pad * 4) / 42))}\n`;
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, p)), { recursive: true });
    writeFileSync(join(repo, p), text);
  }
  const git = (...a: string[]) => execFileSync("git", a, { cwd: repo, stdio: "ignore" });
  git("init", "-q");
  git("-c", "user.email=a@b", "-c", "user.name=ab", "add", ".");
  git("-c", "user.email=a@b", "-c", "user.name=ab", "commit", "-qm", "init");
  return repo;
}

const CHECK_SPLIT = `for g in ${GROUPS.join(" ")}; do grep -q "export function \${g}7" src/$g.ts || exit 1; done`;
const reexports = `${GROUPS.map((g) => `export * from "./${g}.js";`).join("\n")}\n`;

// ------------------------------------------------------------------ scripted planners (the assumptions)

export type Step = (req: FakeRequest) => Omit<FakeAnswer, "usage">;
export const call = (name: string, args: Record<string, unknown>) => ({ name, arguments: args });

/** self, split: read (1), write the 6 files and the re-exports (1), run the check (1), answer (1). */
const SELF_SPLIT: Step[] = [
  () => ({ toolCalls: [call("Read", { file_path: "src/big.ts" })] }),
  () => ({
    toolCalls: [
      ...GROUPS.map((g) => call("Write", { file_path: `src/${g}.ts`, content: groupCode(g) })),
      call("Write", { file_path: "src/big.ts", content: reexports }),
    ],
  }),
  () => ({ toolCalls: [call("Bash", { command: CHECK_SPLIT, description: "check the split" })] }),
  () => ({ text: "Split done." }),
];

/**
 * delegate, split: read (1), one dispatch (1) of one template spec with a target per group (the
 * planner writes the pattern once) plus the re-export spec, accept on_pass, answer (1).
 */
const SPLIT_TEMPLATE = {
  project: "split",
  title: "Move {{g}} helpers",
  objective: "Move the {{g}} helpers from src/big.ts into src/{{g}}.ts unchanged.",
  files_to_read: [{ path: "src/big.ts", lines: "{{lines}}" }],
  files_to_modify: [{ path: "src/{{g}}.ts", action: "create" }],
  steps: ["Create src/{{g}}.ts with exactly lines {{lines}} of src/big.ts."],
  acceptance_criteria: ["src/{{g}}.ts exports {{g}}0 to {{g}}7"],
  validation: [{ run: 'grep -q "export function {{g}}7" src/{{g}}.ts' }],
  targets: GROUPS.map((g) => ({ g, lines: rangeOf(g) })),
};
const DELEGATE_SPLIT: Step[] = [
  () => ({ toolCalls: [call("Read", { file_path: "src/big.ts" })] }),
  () => ({
    toolCalls: [
      call(T("dispatch_to_small_model"), {
        specs: [
          SPLIT_TEMPLATE,
          {
            project: "split",
            title: "Re-export from big",
            objective: "Make src/big.ts re-export the six new modules.",
            files_to_modify: [{ path: "src/big.ts", action: "edit" }],
            steps: ["Replace the whole content of src/big.ts with the snippet."],
            snippets: [{ language: "ts", code: reexports }],
            acceptance_criteria: ["src/big.ts only re-exports"],
            validation: [{ run: 'grep -q "./flags.js" src/big.ts' }],
          },
        ],
        accept: "on_pass",
      }),
    ],
  }),
  () => ({ text: "Split done." }),
];

/** self, 10-target edit: read the 10 files (1), 10 edits (1), run the check (1), answer (1). */
const CHECK_EDIT = `for n in ${TARGETS.join(" ")}; do grep -q "Trims its input" src/handlers/$n.ts || exit 1; done`;
const SELF_EDIT: Step[] = [
  () => ({ toolCalls: TARGETS.map((n) => call("Read", { file_path: `src/handlers/${n}.ts` })) }),
  () => ({
    toolCalls: TARGETS.map((n) =>
      call("Edit", {
        file_path: `src/handlers/${n}.ts`,
        old_string: `export function ${n}(`,
        new_string: `/** Trims its input. */\nexport function ${n}(`,
      }),
    ),
  }),
  () => ({ toolCalls: [call("Bash", { command: CHECK_EDIT, description: "check the docs" })] }),
  () => ({ text: "Documented." }),
];

/** delegate, 10-target edit: one dispatch of a template spec with 10 targets, accept on_pass (1), answer (1). */
const DELEGATE_EDIT: Step[] = [
  () => ({
    toolCalls: [
      call(T("dispatch_to_small_model"), {
        specs: [
          {
            project: "docs",
            title: "Document {{n}}",
            objective: "Add a JSDoc line above the exported function.",
            files_to_modify: [{ path: "src/handlers/{{n}}.ts", action: "edit" }],
            steps: ["Add the line /** Trims its input. */ above export function {{n}}."],
            acceptance_criteria: ["{{n}} has the JSDoc line"],
            validation: [{ run: "grep -q 'Trims its input' src/handlers/{{n}}.ts" }],
            targets: TARGETS.map((n) => ({ n })),
          },
        ],
        accept: "on_pass",
      }),
    ],
  }),
  () => ({ text: "Documented." }),
];

// ------------------------------------------------------------------ the scripted executor

/** Two turns per task: the change, then finish (the server validates). */
function executor(req: FakeRequest): Omit<FakeAnswer, "usage"> {
  const first = req.messages.find((m) => m.role === "user")?.text ?? "";
  const turn = req.messages.filter((m) => m.role === "assistant").length;
  if (turn > 0) return { toolCalls: [call("finish", { status: "complete", summary: "Done." })] };
  const move = /Move (\w+) helpers/.exec(first);
  if (move)
    return { toolCalls: [call("write_file", { path: `src/${move[1]}.ts`, content: groupCode(move[1]!) })] };
  if (/Re-export from big/.test(first))
    return { toolCalls: [call("write_file", { path: "src/big.ts", content: reexports })] };
  const doc = /Document (h\d)/.exec(first);
  if (doc)
    return {
      toolCalls: [
        call("edit_file", {
          path: `src/handlers/${doc[1]}.ts`,
          old_string: `export function ${doc[1]}(`,
          new_string: `/** Trims its input. */\nexport function ${doc[1]}(`,
        }),
      ],
    };
  if (/Add summarize/.test(first))
    return {
      toolCalls: [
        call("edit_file", { path: SNIPPET_FILE, old_string: SNIPPET_ANCHOR, new_string: SNIPPET_CHANGE }),
      ],
    };
  throw new Error(`executor: unknown task ${first.slice(0, 80)}`);
}

// ------------------------------------------------------------------ one run

export interface Tokens {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}
export interface ArmResult {
  work: string;
  arm: string;
  pad: number;
  session: "fresh" | "warm";
  /** The planner's first request, in tokens: the starting context. */
  firstContext: number;
  turns: number;
  planner: Tokens;
  executor: Tokens;
  ok: boolean;
}

function plannerFromTranscript(path: string): { turns: number; tokens: Tokens; firstContext: number } {
  const seen = new Map<string, Tokens>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.includes('"type":"assistant"')) continue;
    const e = JSON.parse(line);
    const u = e.message?.usage;
    if (!u || e.isSidechain) continue;
    seen.set(`${e.message.id}|${e.requestId}`, {
      input: u.input_tokens ?? 0,
      output: u.output_tokens ?? 0,
      cacheRead: u.cache_read_input_tokens ?? 0,
      cacheWrite: u.cache_creation_input_tokens ?? 0,
    });
  }
  const tokens = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
  for (const t of seen.values()) {
    tokens.input += t.input;
    tokens.output += t.output;
    tokens.cacheRead += t.cacheRead;
    tokens.cacheWrite += t.cacheWrite;
  }
  const first = [...seen.values()][0];
  const firstContext = first ? first.input + first.cacheRead + first.cacheWrite : 0;
  return { turns: seen.size, tokens, firstContext };
}

function executorFromLedger(repo: string): Tokens {
  const path = join(repo, "mini-projects/ledger.jsonl");
  const tokens = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
  if (!existsSync(path)) return tokens;
  for (const line of readFileSync(path, "utf8").split("\n").filter(Boolean)) {
    const e = JSON.parse(line);
    if (e.phase !== "execution") continue;
    tokens.input += e.input_tokens;
    tokens.output += e.output_tokens;
    tokens.cacheRead += e.cache_read_tokens;
    tokens.cacheWrite += e.cache_write_tokens;
  }
  return tokens;
}

/** One arm of one work: a fresh session, then the same run warm (see the header). */
export async function runArm(
  work: string,
  arm: string,
  script: Step[],
  pad: number,
  check: string,
  /** The user's request and files beyond the shared ones (the snippet sweep's). */
  task: { prompt?: string; files?: Record<string, string> } = {},
): Promise<ArmResult[]> {
  let turn = 0;
  const fake = await startFakeLlm({
    handler: (req) => {
      if (req.toolNames.includes("finish")) return executor(req);
      if (!req.toolNames.includes("Read")) return { text: "ok" }; // Claude Code's side requests
      const step = script[turn++];
      if (!step) throw new Error(`${arm} planner has no turn ${turn - 1}`);
      return step(req);
    },
  });
  const repo = makeRepo(pad, task.files);
  const configure = () =>
    writeFileSync(
      join(repo, "delegate.config.json"),
      JSON.stringify({
        models: {
          fake: {
            provider: "anthropic",
            model: "claude-haiku-4-5",
            base_url: fake.anthropicBaseURL,
            api_key_env: "FAKE_KEY",
          },
        },
        defaults: { executor: "fake", planner: "sonnet" },
      }),
    );
  const delegate = arm === "delegate";
  const results: ArmResult[] = [];
  // One HOME for both sessions: Claude Code's system prompt names paths under it.
  const home = realpathSync(mkdtempSync(join(tmpdir(), "ab-home-")));
  try {
    for (const session of ["fresh", "warm"] as const) {
      if (session === "warm") {
        // The same repository path and content again, so Claude Code's prompt is the same bytes.
        execFileSync("git", ["reset", "-q", "--hard"], { cwd: repo, stdio: "ignore" });
        execFileSync("git", ["clean", "-qfdx"], { cwd: repo, stdio: "ignore" });
        turn = 0;
      }
      configure();
      const run = await runClaudeCode({
        cwd: repo,
        home,
        prompt:
          task.prompt ??
          (work === "split"
            ? "Split src/big.ts into one module per group."
            : "Add a JSDoc line to every handler."),
        baseURL: fake.url,
        allowedTools: delegate ? ["Read", "mcp__delegate"] : ["Read", "Write", "Edit", "Bash"],
        ...(delegate
          ? {
              mcpServers: {
                delegate: {
                  command: process.execPath,
                  args: [CLI, "--root", repo],
                  env: { FAKE_KEY: "k", DELEGATE_LOG: "warn" },
                },
              },
            }
          : {}),
        timeoutMs: 300_000,
      });
      let ok = false;
      try {
        execFileSync("bash", ["-c", check], { cwd: repo, stdio: "ignore" });
        ok = true;
      } catch {}
      const planner = plannerFromTranscript(run.transcriptPath);
      results.push({
        work,
        arm,
        pad,
        session,
        turns: planner.turns,
        firstContext: planner.firstContext,
        planner: planner.tokens,
        executor: executorFromLedger(repo),
        ok: ok && run.exitCode === 0 && fake.handlerErrors.length === 0,
      });
      if (fake.handlerErrors.length)
        process.stderr.write(`${arm}/${work}: ${fake.handlerErrors.map((e) => e.message).join("; ")}\n`);
      if (run.exitCode !== 0)
        process.stderr.write(`${arm}/${work}: claude exited ${run.exitCode}: ${run.stderr.slice(0, 400)}\n`);
      await run.cleanup();
    }
  } finally {
    await fake.close();
    rmSync(repo, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
  return results;
}

// ------------------------------------------------------------------ main

export type Price = NonNullable<Awaited<ReturnType<typeof priceOf>>>;
export const price = async (alias: string): Promise<Price> => (await priceOf(resolveModel({}, alias)))!;
/** An arm's whole cost: its planner at `planner`'s price, its executor at `executor`'s. */
export const armCost = (r: ArmResult, planner: Price, executor: Price) =>
  usd(r.planner, planner) + usd(r.executor, executor);
export const usd = (t: Tokens, p: Price) =>
  costOf(
    {
      input_tokens: t.input,
      output_tokens: t.output,
      cache_read_tokens: t.cacheRead,
      cache_write_tokens: t.cacheWrite,
    },
    p,
  )!;

const WORKS = [
  ["split", "6-file split", CHECK_SPLIT, SELF_SPLIT, DELEGATE_SPLIT],
  ["10-target edit", "10-target edit", CHECK_EDIT, SELF_EDIT, DELEGATE_EDIT],
] as const;

/** Every arm of every work at each padding, fresh and warm. */
async function runAll(pads: number[], works: readonly (typeof WORKS)[number][]): Promise<ArmResult[]> {
  const rows: ArmResult[] = [];
  for (const pad of pads)
    for (const [work, , check, self, del] of works) {
      rows.push(...(await runArm(work, "self", self, pad, check)));
      rows.push(...(await runArm(work, "delegate", del, pad, check)));
    }
  return rows;
}

/** The padding as the row names it; the context it gave is measured and put in the note. */
export const padLabel = (pad: number) =>
  pad === 0 ? "no padding" : `${Math.round(pad / 1000)}k-token padding`;

const GOAL_PAD = 68_000;
const GOAL_OF = { split: "ab.split-100k", "10-target edit": "ab.edit-100k" } as const;

const fmt = (t: Tokens) =>
  `${t.input} in / ${t.cacheRead} cache read / ${t.cacheWrite} cache write / ${t.output} out`;

export const benchAb: Bench = async ({ quick }) => {
  const pads = quick ? [0] : [0, GOAL_PAD];
  const works = quick ? WORKS.filter(([w]) => w === "10-target edit") : WORKS;
  const results = await runAll(pads, works);
  const [sonnet, opus, haiku] = await Promise.all([price("sonnet"), price("opus"), price("haiku")]);
  const rows: BenchRow[] = [];
  const find = (work: string, pad: number, arm: string, session: string) =>
    results.find((r) => r.work === work && r.pad === pad && r.arm === arm && r.session === session)!;
  for (const pad of pads)
    for (const [work, label] of works)
      for (const session of ["fresh", "warm"] as const) {
        const self = find(work, pad, "self", session);
        const del = find(work, pad, "delegate", session);
        if (!self.ok || !del.ok)
          throw new Error(`a/b ${work} pad ${pad} ${session}: an arm did not finish its work`);
        const total = (r: ArmResult, planner: Price) => armCost(r, planner, haiku);
        const [s, d] = [total(self, sonnet), total(del, sonnet)];
        const opusRatio = total(del, opus) / total(self, opus);
        rows.push({
          group: "a/b in Claude Code",
          name: `delegate ÷ self, ${label}, ${padLabel(pad)}, ${session} session, Sonnet + Haiku 4.5`,
          value: Math.round(d * 10_000) / 10_000,
          unit: "USD",
          reference: Math.round(s * 10_000) / 10_000,
          ratio: Math.round((d / s) * 100) / 100,
          // The goal is the issue's own setting: a session under way, its context already cached.
          ...(pad === GOAL_PAD && session === "warm" ? { goal: GOAL_OF[work] } : {}),
          note: `starting planner context ${Math.round(self.firstContext / 1000)}k tokens (self arm's first request); planner turns self ${self.turns} / delegate ${del.turns}; planner self ${fmt(self.planner)}, delegate ${fmt(del.planner)}; executor (Haiku) ${fmt(del.executor)}; Opus + Haiku: ${opusRatio.toFixed(2)}×`,
        });
      }
  // Where "the snippet is the change" begins in this client (bench/ab/snippet.ts), beside lint's threshold.
  if (!quick) rows.push(...(await (await import("./snippet.js")).snippetRows(pads)));
  return rows;
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { pads: { type: "string", default: "0,68000" } } });
  const pads = String(values.pads).split(",").map(Number);
  const [sonnet, opus, haiku] = await Promise.all([price("sonnet"), price("opus"), price("haiku")]);
  const rows = await runAll(pads, WORKS);
  const lines = [
    "| work | pad | session | arm | ok | planner turns | planner in / cache read / cache write / out | executor in / cache read / cache write / out | $ Sonnet+Haiku | $ Opus+Haiku |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  const cost = new Map<string, [number, number]>();
  for (const r of rows) {
    const a = armCost(r, sonnet, haiku);
    const b = armCost(r, opus, haiku);
    cost.set(`${r.work}|${r.pad}|${r.session}|${r.arm}`, [a, b]);
    const p = r.planner;
    const e = r.executor;
    lines.push(
      `| ${r.work} | ${r.pad} | ${r.session} | ${r.arm} | ${r.ok ? "yes" : "NO"} | ${r.turns} | ${p.input} / ${p.cacheRead} / ${p.cacheWrite} / ${p.output} | ${e.input} / ${e.cacheRead} / ${e.cacheWrite} / ${e.output} | ${a.toFixed(4)} | ${b.toFixed(4)} |`,
    );
  }
  lines.push(
    "",
    "| work | pad | session | delegate/self Sonnet+Haiku | delegate/self Opus+Haiku |",
    "|---|---|---|---|---|",
  );
  for (const pad of pads)
    for (const [work] of WORKS)
      for (const session of ["fresh", "warm"]) {
        const s = cost.get(`${work}|${pad}|${session}|self`)!;
        const d = cost.get(`${work}|${pad}|${session}|delegate`)!;
        lines.push(
          `| ${work} | ${pad} | ${session} | ${(d[0] / s[0]).toFixed(2)} | ${(d[1] / s[1]).toFixed(2)} |`,
        );
      }
  process.stdout.write(`${lines.join("\n")}\n`);
}
