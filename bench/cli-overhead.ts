/**
 * Per-dispatch overhead of the agent-CLI executors (claude-code, codex) against the API executor
 * on the same task, through the built server with the fake LLM at a fixed latency: the first
 * request's tokens (what each CLI adds to every request: its system text, tool definitions,
 * environment), the requests made, and the dispatch's wall time. Goal: the first request of a CLI
 * executor at most 1.5× the API executor's.
 */
import { performance } from "node:perf_hooks";
import { claudeCliModel, cliServerEnv, forExecutor } from "../test/e2e/cli-helpers.js";
import { editSubtract, MATH, SUBTRACT, spec } from "../test/e2e/fixtures.js";
import { makeRepo, removeDir, startServer, textOf } from "../test/e2e/harness.js";
import { type FakeReply, type FakeRequest, say, startFakeLlm, toolUse } from "../test/fakes/llm-server.js";
import { loadNow, MIN_RUNS, runsOf } from "./reference.js";
import { median, round, sum } from "./stats.js";
import type { Bench, BenchRow } from "./types.js";

const GROUP = "cli";
const LATENCY_MS = 50;

const finish = toolUse("finish", { status: "complete", summary: "Mini-Task: subtract — COMPLETE ✅" });
const SCRIPTS: Record<string, FakeReply[]> = {
  api: [editSubtract, finish],
  "haiku-cli": [editSubtract, finish, say("Done.")],
  codex: [
    toolUse("exec_command", { cmd: `printf '\\n${SUBTRACT.replaceAll("\n", "\\n")}' >> src/math.ts` }),
    say("Mini-Task: subtract — COMPLETE ✅"),
  ],
};

interface Run {
  first: FakeRequest;
  firstTokens: number;
  requests: number;
  /** One per round. */
  wallMs: number[];
  status: string;
}

const tokensOf = (q: FakeRequest) => Math.ceil(Buffer.byteLength(q.rawBody) / 4);
/** The fake's measure (bytes / 4) of one part of a request body. */
const tok = (x: unknown) => Math.round(Buffer.byteLength(typeof x === "string" ? x : JSON.stringify(x)) / 4);
/** A part's name: its tag, or its first words ("# Environment", "x-anthropic-billing-header"). */
function label(text: string): string {
  const t = text.replace(/^<system-reminder>\s*/, "");
  const tag = /^<([^>]+)>/.exec(t);
  if (tag) return tag[1]!;
  return t
    .split(/[\n:,.]/)[0]!
    .split(/\s+/)
    .slice(0, 5)
    .join(" ");
}

// biome-ignore lint/suspicious/noExplicitAny: the wire's JSON as sent
type Body = any;

/**
 * Where the CLI's first request spends its tokens beside what the API executor sends, so the row
 * says what is the CLI's own and what is ours. Claude Code (Messages API): our system prompt and
 * tool schemas, compared with the API executor's, then each part Claude Code adds. Codex
 * (Responses API): each input part and tool it sends, our instructions and task among them.
 */
function attribution(api: Body, cli: Body): string {
  if (Array.isArray(cli.input)) {
    const parts = cli.input.flatMap((item: Body, i: number) =>
      (item.content ?? []).map((c: Body) => {
        const text: string = c.text ?? "";
        const what = i === 0 ? "our instructions" : text.startsWith("<") ? label(text) : "our task";
        return `${what} ${tok(c)}`;
      }),
    );
    const tools = (cli.tools ?? []).map((t: Body) => `${t.name ?? t.type} ${tok(t)}`);
    return `Codex (tokens): input ${parts.join(", ")}; tools ${tools.join(", ")}; client_metadata ${tok(cli.client_metadata ?? "")} (request metadata, not model input)`;
  }
  const texts = (blocks: Body[]) => blocks.map((b) => b.text as string);
  const apiSystem = new Set(texts(api.system ?? []));
  const cliSystem: Body[] = cli.system ?? [];
  const userBlocks: Body[] = cli.messages?.[0]?.content ?? [];
  const reminders = userBlocks.filter((b) => String(b.text).startsWith("<system-reminder>"));
  const strip = (t: Body) => ({ ...t, name: String(t.name).replace(/^mcp__[^_]+__/, "") });
  const byName = (xs: { name: string }[]) =>
    JSON.stringify([...xs].sort((a, b) => (a.name < b.name ? -1 : 1)));
  const cliTools: Body[] = cli.tools ?? [];
  const sameTools = byName(cliTools.map(strip)) === byName(api.tools ?? []);
  const sameSystem = cliSystem.some((b) => apiSystem.has(b.text));
  const extraSystem = cliSystem.filter((b) => !apiSystem.has(b.text));
  const fields = Object.keys(cli).filter((k) => !(k in api));
  const cacheMarks = (JSON.stringify(cli).match(/"cache_control":\{[^}]*\}/g) ?? []).join(",");
  const prefixes = sum(cliTools.map((t) => String(t.name).length - strip(t).name.length));
  const parts = [
    `system blocks ${extraSystem.map((b) => `${label(b.text)} ${tok(b)}`).join(", ") || "none"}`,
    `reminders ${reminders.map((b) => `${label(b.text)} ${tok(b)}`).join(", ") || "none"}`,
    `mcp__<server>__ tool-name prefixes ${Math.round(prefixes / 4)}`,
    `request fields ${fields.map((k) => `${k} ${tok(cli[k])}`).join(", ")}`,
    `cache_control marks ${tok(cacheMarks)}`,
  ];
  const ours =
    sameSystem && sameTools
      ? "Our system prompt and tool schemas: the same as the API's."
      : "Our system prompt or tool schemas differ from the API's.";
  return `Claude Code adds (tokens): ${parts.join("; ")}. ${ours}`;
}

export const benchCliOverhead: Bench = async (opts) => {
  const fake = await startFakeLlm({ latencyMs: LATENCY_MS });
  const config = {
    models: {
      api: {
        provider: "anthropic",
        model: "claude-haiku-4-5",
        base_url: fake.anthropicBaseURL,
        api_key_env: "FAKE_KEY",
      },
      "haiku-cli": claudeCliModel(fake),
      // The same CLI signed in with its own login (a subscription, headless), no api_key_env.
      "haiku-cli-login": {
        provider: "claude-code",
        model: "claude-haiku-4-5",
        base_url: fake.anthropicBaseURL,
      },
      codex: {
        provider: "codex",
        model: "gpt-5-mini",
        base_url: fake.openaiBaseURL,
        api_key_env: "FAKE_KEY",
      },
    },
    defaults: { executor: "api", planner: "sonnet" },
  };
  const repo = makeRepo({
    "src/math.ts": MATH,
    "delegate.config.json": JSON.stringify(config),
    ".gitignore": "mini-projects/\n",
  });
  const env = cliServerEnv({ CLAUDE_CODE_OAUTH_TOKEN: "bench-oauth-token" });
  const server = await startServer({ root: repo, env });
  const runs: Record<string, Run> = {};
  // Wall times are timed rows: MIN_RUNS rounds in which the executors take turns. The quick (smoke)
  // run makes one round and skips codex: one CLI is enough to keep the harness honest.
  const rounds = opts.quick ? 1 : MIN_RUNS;
  const models = opts.quick ? ["api", "haiku-cli"] : ["api", "haiku-cli", "haiku-cli-login", "codex"];
  try {
    for (let turn = 0; turn < rounds; turn++)
      for (const model of models) {
        const steps = SCRIPTS[model] ?? SCRIPTS["haiku-cli"]!;
        let step = 0;
        fake.setHandler((req) => {
          const reply = steps[step++];
          if (!reply) throw new Error(`${model}: no reply left for request ${step}`);
          return forExecutor(reply, req);
        });
        const before = fake.requests.length;
        const created = await server.call("create_mini_task", spec(`Subtract on ${model}`, { model }));
        if (created.isError) throw new Error(textOf(created));
        const id = (created.structuredContent as { id: string }).id;
        const start = performance.now();
        const r = await server.call("dispatch_to_small_model", { task_id: id });
        const wallMs = performance.now() - start;
        if (r.isError) throw new Error(textOf(r));
        const status = (r.structuredContent as { results: { status: string }[] }).results[0]!.status;
        if (fake.handlerErrors.length) throw new Error(fake.handlerErrors.map((e) => e.message).join("; "));
        const mine = fake.requests.slice(before);
        const seen = runs[model];
        if (seen) {
          // Tokens and requests come from the first round; a later round that differs is reported.
          if (status !== "passed") seen.status = status;
          seen.wallMs.push(wallMs);
          continue;
        }
        runs[model] = {
          first: mine[0]!,
          firstTokens: tokensOf(mine[0]!),
          requests: mine.length,
          wallMs: [wallMs],
          status,
        };
      }
  } finally {
    await server.close();
    await fake.close();
    removeDir(repo);
    // The temp HOME the CLIs ran in (a test file's are removed when it ends; a bench's here).
    removeDir(env.HOME!);
  }
  const api = runs.api!;
  const load = loadNow();
  const spread = (ms: number[]) => (ms.length >= MIN_RUNS ? runsOf(ms, 0) : undefined);
  const apiWall = spread(api.wallMs);
  const apiMedian = round(median(api.wallMs), 0);
  const rows: BenchRow[] = [];
  for (const [model, run] of Object.entries(runs)) {
    if (model === "api") continue;
    if (run.status !== "passed") throw new Error(`${model}: the task ended ${run.status}`);
    const ratio = round(run.firstTokens / api.firstTokens, 2);
    // The goal is the subscription user's path: the CLI under its own login.
    const goal =
      model === "codex"
        ? ("cli.first-request-codex" as const)
        : model === "haiku-cli-login"
          ? ("cli.first-request-haiku-cli" as const)
          : undefined;
    rows.push({
      group: GROUP,
      name: `${model}${model === "haiku-cli-login" ? " (the CLI's own login, no key)" : model === "haiku-cli" ? " (api_key_env set: --bare)" : ""}: first request tokens vs the API executor's`,
      value: run.firstTokens,
      unit: "tokens",
      reference: api.firstTokens,
      ratio,
      ...(goal ? { goal } : {}),
      note: attribution(api.first.body, run.first.body),
    });
    rows.push({
      group: GROUP,
      name: `${model}: requests per dispatch vs the API executor's`,
      value: run.requests,
      unit: "requests",
      reference: api.requests,
      ratio: round(run.requests / api.requests, 2),
      note: model.startsWith("haiku-cli")
        ? "the CLI answers finish's result with one more request"
        : "its own tools",
    });
    const wall = spread(run.wallMs);
    const wallMedian = round(median(run.wallMs), 0);
    rows.push({
      group: GROUP,
      name: `${model}: dispatch wall time vs the API executor's (fake latency ${LATENCY_MS} ms), median`,
      value: wallMedian,
      unit: "ms",
      ...(wall ? { runs: wall } : {}),
      reference: apiMedian,
      ...(apiWall ? { referenceRuns: apiWall } : {}),
      ratio: round(wallMedian / apiMedian, 2),
      load,
      note: `${run.wallMs.length} run(s) each, the executors taking turns; CLI start-up, its MCP server and the version check included; API executor ${apiWall ? `min ${apiWall.min} / max ${apiWall.max} ms (its first dispatch in the server loads the provider's SDK)` : "one run, cold"}`,
    });
  }
  return rows;
};
