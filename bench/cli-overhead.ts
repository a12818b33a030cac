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
import { round } from "./stats.js";
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
  firstTokens: number;
  requests: number;
  wallMs: number;
  status: string;
}

const tokensOf = (q: FakeRequest) => Math.ceil(Buffer.byteLength(q.rawBody) / 4);

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
  const server = await startServer({ root: repo, env: cliServerEnv() });
  const runs: Record<string, Run> = {};
  try {
    // The quick (smoke) run skips codex: one CLI is enough to keep the harness honest.
    for (const model of opts.quick ? ["api", "haiku-cli"] : ["api", "haiku-cli", "codex"]) {
      const steps = SCRIPTS[model]!;
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
      runs[model] = { firstTokens: tokensOf(mine[0]!), requests: mine.length, wallMs, status };
    }
  } finally {
    await server.close();
    await fake.close();
    removeDir(repo);
  }
  const api = runs.api!;
  const rows: BenchRow[] = [];
  for (const [model, run] of Object.entries(runs)) {
    if (model === "api") continue;
    if (run.status !== "passed") throw new Error(`${model}: the task ended ${run.status}`);
    const ratio = round(run.firstTokens / api.firstTokens, 2);
    rows.push({
      group: GROUP,
      name: `${model}: first request tokens vs the API executor's`,
      value: run.firstTokens,
      unit: "tokens",
      reference: api.firstTokens,
      ratio,
      goal: model === "codex" ? "cli.first-request-codex" : "cli.first-request-haiku-cli",
    });
    rows.push({
      group: GROUP,
      name: `${model}: requests per dispatch vs the API executor's`,
      value: run.requests,
      unit: "requests",
      reference: api.requests,
      ratio: round(run.requests / api.requests, 2),
      note: model === "haiku-cli" ? "the CLI answers finish's result with one more request" : "its own tools",
    });
    rows.push({
      group: GROUP,
      name: `${model}: dispatch wall time vs the API executor's (fake latency ${LATENCY_MS} ms)`,
      value: round(run.wallMs, 0),
      unit: "ms",
      reference: round(api.wallMs, 0),
      ratio: round(run.wallMs / api.wallMs, 2),
      note: "CLI start-up, its MCP server and the version check included",
    });
  }
  return rows;
};
