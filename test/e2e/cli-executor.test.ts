import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SUBSCRIPTION_NOTE } from "../../src/core/ledger-entry.js";
import { formatTokens, formatUsd } from "../../src/core/report-render.js";
import { TOOL_NAME_PREFIX } from "../../src/executor/tool-bridge.js";
import {
  type FakeLlm,
  type FakeReply,
  type FakeRequest,
  say,
  startFakeLlm,
  toolUse,
} from "../fakes/llm-server.js";
import {
  claudeCliModel,
  cliServerEnv,
  fakeCli,
  forExecutor,
  ledgerOf,
  processesMarked,
  tempHome,
} from "./cli-helpers.js";
import { byTitle } from "./dispatch-helpers.js";
import { editSubtract, MATH, SUBTRACT, spec } from "./fixtures.js";
import { git, makeRepo, type RunningServer, sleep, startServer, textOf, until } from "./harness.js";

type Result = {
  task_id: string;
  status: string;
  files_changed?: { path: string; added: number; removed: number }[];
  validation?: { passed: boolean; ran: number };
  usage?: {
    input_tokens: number;
    output_tokens: number;
    cache_read_tokens: number;
    cache_write_tokens: number;
  };
  report?: string;
  out_of_scope?: string[];
};

interface CliEnv {
  repo: string;
  fake: FakeLlm;
  server: RunningServer;
  /** Marks every process started for this test (the server's env reaches the CLI). */
  mark: string;
}

const OAUTH_TOKEN = "test-oauth-token";

let running: CliEnv | undefined;
afterEach(async () => {
  await running?.server.close();
  await running?.fake.close();
  running = undefined;
});

/** A repository whose delegate.config.json has `fake` (API) and `haiku-cli` (CLI) on the fake LLM. */
async function start(
  opts: {
    cliModel?: Record<string, unknown>;
    /**
     * haiku-cli on the fake under the CLI's own login, as a subscription user signs in headless
     * (CLAUDE_CODE_OAUTH_TOKEN), with no api_key_env.
     */
    ownLogin?: boolean;
    limits?: Record<string, unknown>;
    env?: Record<string, string>;
  } = {},
): Promise<CliEnv> {
  const fake = await startFakeLlm();
  const mark = `delegate-cli-test-${Math.random().toString(36).slice(2)}`;
  const ownLogin = opts.ownLogin
    ? { provider: "claude-code", model: "claude-haiku-4-5", base_url: fake.anthropicBaseURL }
    : undefined;
  const config = {
    models: {
      fake: {
        provider: "anthropic",
        model: "claude-haiku-4-5",
        base_url: fake.anthropicBaseURL,
        api_key_env: "FAKE_KEY",
      },
      "haiku-cli": opts.cliModel ?? ownLogin ?? claudeCliModel(fake),
    },
    defaults: { executor: "haiku-cli", planner: "sonnet" },
    ...(opts.limits ? { limits: opts.limits } : {}),
  };
  const repo = makeRepo({
    "src/math.ts": MATH,
    "src/other.ts": "export const other = 1;\n",
    "delegate.config.json": JSON.stringify(config, null, 2),
    ".gitignore": "mini-projects/\n",
  });
  const server = await startServer({
    root: repo,
    env: cliServerEnv({
      DELEGATE_TEST_MARK: mark,
      ...(ownLogin ? { CLAUDE_CODE_OAUTH_TOKEN: OAUTH_TOKEN } : {}),
      ...opts.env,
    }),
  });
  running = { repo, fake, server, mark };
  return running;
}

async function create(env: CliEnv, s: Record<string, unknown>): Promise<string> {
  const r = await env.server.call("create_mini_task", s);
  expect(r.isError, textOf(r)).toBeFalsy();
  return (r.structuredContent as { id: string }).id;
}

async function dispatch(env: CliEnv, args: Record<string, unknown>): Promise<Result[]> {
  const r = await env.server.call("dispatch_to_small_model", args);
  expect(r.isError, textOf(r)).toBeFalsy();
  return (r.structuredContent as { results: Result[] }).results;
}

const script = (steps: FakeReply[]) => steps.map((s) => (req: FakeRequest) => forExecutor(s, req));
const validate = toolUse("run_validation", {});
const finish = toolUse("finish", { status: "complete", summary: "Mini-Task: subtract — COMPLETE ✅" });

describe("claude-code executor (haiku-cli) against the fake LLM", () => {
  it("runs the same scripted scenario as the API executor: same files, validation and measured tokens", async () => {
    const env = await start();
    const results: Record<string, Result> = {};
    const checked: Record<string, { validation: unknown; report: string }> = {};
    for (const model of ["fake", "haiku-cli"]) {
      const title = `Add subtract on ${model}`;
      env.fake.setHandler(byTitle({ [title]: script([editSubtract, validate, finish, say("Done.")]) }));
      const before = env.fake.requests.length;
      const id = await create(env, spec(title, { model }));
      const [res] = await dispatch(env, { task_id: id });
      expect(env.fake.handlerErrors).toEqual([]);
      results[model] = res!;
      // The ledger holds exactly what the fake reported for this task's requests (its formula:
      // input = ceil(body bytes / 4)), each record measured, from the right origin.
      const mine = env.fake.requests.slice(before);
      const sent = mine.map((q) => Math.ceil(Buffer.byteLength(q.rawBody) / 4)).reduce((a, b) => a + b, 0);
      const ledger = ledgerOf(env.repo, id);
      const sum = (k: string) => ledger.reduce((a, e) => a + (e[k] as number), 0);
      // The fake caches as the real API does: every prompt token is input, cache read or cache write.
      expect(sum("input_tokens") + sum("cache_read_tokens") + sum("cache_write_tokens")).toBe(sent);
      // A passing result is compact (no usage): the attempt's record has it.
      const got = await env.server.call("get_task", { task_id: id });
      const attempt = (
        got.structuredContent as {
          attempts: { usage: NonNullable<Result["usage"]>; validation: unknown; report: string }[];
        }
      ).attempts[0]!;
      checked[model] = { validation: attempt.validation, report: attempt.report };
      const u = attempt.usage;
      expect(u.input_tokens + u.cache_read_tokens + u.cache_write_tokens).toBe(sent);
      expect(u.output_tokens).toBe(sum("output_tokens"));
      expect(ledger.every((e) => e.source === "measured")).toBe(true);
      // With a key configured nothing is billed to a subscription.
      expect(ledger.filter((e) => "billing" in e || String(e.note).includes(SUBSCRIPTION_NOTE))).toEqual([]);
      expect(new Set(ledger.map((e) => e.origin))).toEqual(
        new Set([model === "fake" ? "executor-api" : "claude-code"]),
      );
      if (model === "haiku-cli") {
        // Our five tools and nothing else, under our system prompt.
        expect([...mine[0]!.toolNames].sort()).toEqual(
          ["edit_file", "finish", "read_file", "run_validation", "write_file"].map(
            (t) => `${TOOL_NAME_PREFIX}${t}`,
          ),
        );
        expect(mine[0]!.system).toContain("You are an executor.");
        expect(mine[0]!.apiKey).toBe("test-key");
        // With the key configured the CLI runs bare: the task is the whole first message, no
        // environment, model, date or token-budget reminders beside it.
        expect(mine[0]!.rawBody).not.toContain("<system-reminder>");
        // No extended thinking: the API executor sends none either.
        expect(mine[0]!.body.thinking?.type ?? "disabled").not.toBe("enabled");
      }
    }
    expect(results["haiku-cli"]).toMatchObject({ status: "passed" });
    expect(results["haiku-cli"]!.files_changed).toEqual(results.fake!.files_changed);
    expect(checked["haiku-cli"]!.validation).toEqual({ passed: true, ran: 1 });
    expect(checked["haiku-cli"]!.validation).toEqual(checked.fake!.validation);
    expect(checked["haiku-cli"]!.report).toContain("COMPLETE");
    const report = await env.server.call("savings_report", { project: results.fake!.task_id.split("/")[0] });
    expect(report.isError, textOf(report)).toBeFalsy();
    expect(textOf(report)).not.toContain("billed to your subscription");
  }, 180_000);

  it("refuses an unlisted write through the tool server, and reverts one made by another route", async () => {
    const env = await start();
    const sneak = toolUse("write_file", { path: "src/other.ts", content: "export const other = 2;\n" });
    env.fake.setHandler(byTitle({ Sneaky: script([sneak, editSubtract, validate, finish, say("Done.")]) }));
    // The validation the executor runs writes an unlisted file: the server's scope check must undo it.
    const id = await create(
      env,
      spec("Sneaky", {
        validation: [{ run: "echo leak > src/leak.txt; grep -q 'export function subtract' src/math.ts" }],
      }),
    );
    const [r] = await dispatch(env, { task_id: id });
    expect(env.fake.handlerErrors).toEqual([]);
    const refusedReply = env.fake.requests[1]!.messages.at(-1)!.toolResults[0]!;
    expect(refusedReply.isError).toBe(true);
    expect(refusedReply.content).toContain("src/other.ts is not under");
    expect(r!.files_changed).toEqual([{ path: "src/math.ts", added: 4, removed: 0 }]);
    expect(r!.out_of_scope).toEqual(["src/leak.txt"]);
    const branch = `delegate/${id}`;
    expect(git(env.repo, "show", `${branch}:src/other.ts`)).toBe("export const other = 1;\n");
    expect(() => git(env.repo, "show", `${branch}:src/leak.txt`)).toThrow();
    const task = (await env.server.call("get_task", { task_id: id })).structuredContent as {
      attempts: { refused: string[] }[];
    };
    expect(task.attempts[0]!.refused.join("\n")).toContain("src/other.ts");
  }, 180_000);

  it("says in one sentence when the CLI is missing, naming the install command", async () => {
    const env = await start({ env: { PATH: "/usr/bin:/bin" } });
    const id = await create(env, spec("No CLI"));
    const r = await env.server.call("dispatch_to_small_model", { task_id: id });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(
      /Claude Code \(`claude`\), which was not found; install Claude Code 2\.1\.0 or later \(npm install -g @anthropic-ai\/claude-code\)/,
    );
    expect(env.fake.requests).toHaveLength(0);
    const task = (await env.server.call("get_task", { task_id: id })).structuredContent as { status: string };
    expect(task.status).toBe("ready");
  }, 60_000);

  it("says in one sentence when the CLI is too old: found, minimum, install command", async () => {
    const bin = tempHome();
    fakeCli(bin, "claude", 'echo "1.0.43 (Claude Code)"');
    const env = await start({ env: { PATH: `${bin}:/usr/bin:/bin` } });
    const id = await create(env, spec("Old CLI"));
    const r = await env.server.call("dispatch_to_small_model", { task_id: id });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain("Claude Code 1.0.43 is too old (found 1.0.43, need 2.1.0 or later)");
    expect(textOf(r)).toContain("npm install -g @anthropic-ai/claude-code");
  }, 60_000);

  it("passes --bare with a configured key only to a Claude Code that has it (2.1.81 and later)", async () => {
    for (const [version, bare] of [
      ["2.1.80", false],
      ["2.1.81", true],
    ] as const) {
      const bin = tempHome();
      const argsFile = join(bin, "args");
      fakeCli(
        bin,
        "claude",
        `if [ "$1" = "--version" ]; then echo "${version} (Claude Code)"; exit 0; fi\nprintf '%s\\n' "$@" > '${argsFile}'\nexit 1`,
      );
      const env = await start({ env: { PATH: `${bin}:/usr/bin:/bin` } });
      const id = await create(env, spec(`Claude Code ${version}`));
      const [r] = await dispatch(env, { task_id: id });
      expect(r!.status).toBe("error");
      const args = readFileSync(argsFile, "utf8").split("\n");
      expect(args).toContain("--setting-sources");
      expect(args.includes("--bare")).toBe(bare);
      await env.server.close();
      await env.fake.close();
      running = undefined;
    }
  }, 120_000);

  it("kills a hung CLI at request_timeout_s with its whole process group", async () => {
    const env = await start({ limits: { request_timeout_s: 10 } });
    env.fake.setHandler(() => ({ hang: true }));
    const id = await create(env, spec("Hangs"));
    const [r] = await dispatch(env, { task_id: id });
    expect(r!.status).toBe("error");
    expect(r!.report).toContain("request_timeout_s");
    expect(processesMarked(env.mark)).toEqual([]);
  }, 120_000);

  it("turns a CLI that is not logged in into one sentence that says to run claude once", async () => {
    const env = await start({ cliModel: claudeCliModel(undefined) });
    const id = await create(env, spec("No login"));
    const [r] = await dispatch(env, { task_id: id });
    expect(r!.status).toBe("error");
    expect(r!.report).toContain("run `claude` once to log in");
    expect(env.fake.requests).toHaveLength(0);
  }, 120_000);

  it("kills the CLI when the client cancels mid-run", async () => {
    const env = await start();
    env.fake.setHandler(() => ({ hang: true }));
    const id = await create(env, spec("Cancel me"));
    const controller = new AbortController();
    const call = env.server.client.callTool(
      { name: "dispatch_to_small_model", arguments: { task_id: id } },
      undefined,
      { signal: controller.signal, timeout: 120_000 },
    );
    await until(() => env.fake.requests.length > 0);
    controller.abort();
    await expect(call).rejects.toThrow();
    let status = "running";
    while (status === "running") {
      await sleep(100);
      status = ((await env.server.call("get_task", { task_id: id })).structuredContent as { status: string })
        .status;
    }
    expect(status).toBe("cancelled");
    expect(processesMarked(env.mark)).toEqual([]);
  }, 120_000);

  it("runs two attempts in parallel, each with its own tool server bound to its own worktree", async () => {
    const env = await start();
    const writeOwn = (file: string) => toolUse("write_file", { path: file, content: `// ${file}\n` });
    env.fake.setHandler(
      byTitle({
        // Each tries the other's file first: refused, since its tool server knows only its own task.
        "Make a": script([writeOwn("src/b.ts"), writeOwn("src/a.ts"), finish, say("Done.")]),
        "Make b": script([writeOwn("src/a.ts"), writeOwn("src/b.ts"), finish, say("Done.")]),
      }),
    );
    const make = (name: string) =>
      create(env, {
        ...spec(`Make ${name}`),
        files_to_read: [],
        files_to_modify: [{ path: `src/${name}.ts`, action: "create" }],
        validation: [{ run: `test -f src/${name}.ts` }],
      });
    const a = await make("a");
    const b = await make("b");
    const results = await dispatch(env, { task_ids: [a, b] });
    expect(env.fake.handlerErrors).toEqual([]);
    for (const [id, own, other] of [
      [a, "src/a.ts", "src/b.ts"],
      [b, "src/b.ts", "src/a.ts"],
    ] as const) {
      const r = results.find((x) => x.task_id === id)!;
      expect(r.status).toBe("passed");
      expect(r.files_changed).toEqual([{ path: own, added: 1, removed: 0 }]);
      expect(git(env.repo, "show", `delegate/${id}:${own}`)).toBe(`// ${own}\n`);
      expect(() => git(env.repo, "show", `delegate/${id}:${other}`)).toThrow();
    }
  }, 180_000);

  it("keeps the MCP client's ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY away from the CLI", async () => {
    const decoy = await startFakeLlm();
    try {
      const inherited = { ANTHROPIC_BASE_URL: decoy.anthropicBaseURL, ANTHROPIC_API_KEY: "sk-inherited" };
      // Configured base_url and key: the CLI uses exactly those.
      const env = await start({ env: inherited });
      env.fake.setHandler(byTitle({ Configured: script([editSubtract, finish, say("Done.")]) }));
      const [r] = await dispatch(env, { task_id: await create(env, spec("Configured")) });
      expect(r!.status).toBe("passed");
      expect(env.fake.requests.every((q) => q.apiKey === "test-key")).toBe(true);
      await env.server.close();
      await env.fake.close();
      // No key configured: the inherited one is not used either (the CLI has no login here).
      const bare = await start({ cliModel: claudeCliModel(undefined), env: inherited });
      const [s] = await dispatch(bare, { task_id: await create(bare, spec("Not configured")) });
      expect(s!.report).toContain("run `claude` once to log in");
      expect(decoy.requests).toHaveLength(0);
      expect(bare.fake.requests).toHaveLength(0);
    } finally {
      await decoy.close();
    }
  }, 180_000);
});

describe("claude-code executor's measured usage", () => {
  it("is in the ledger even for a failing run; under the CLI's own login, billed to the subscription", async () => {
    const env = await start({ ownLogin: true });
    env.fake.setHandler(byTitle({ Fails: script([editSubtract, validate, say("Done.")]) }));
    const id = await create(env, spec("Fails", { validation: [{ run: "false" }] }));
    const [r] = await dispatch(env, { task_id: id });
    expect(r!.status).toBe("failed");
    // The CLI signed in with its own login, not a key.
    expect(env.fake.requests.length).toBeGreaterThan(0);
    expect(env.fake.requests.every((q) => q.apiKey === OAUTH_TOKEN)).toBe(true);
    // Not bare (bare mode never reads a login), but still no per-turn token-budget reminder.
    expect(env.fake.requests[0]!.rawBody).toContain("# Environment");
    expect(env.fake.requests[0]!.rawBody).not.toContain("<total_tokens>");
    expect(env.fake.requests[0]!.body.thinking?.type ?? "disabled").not.toBe("enabled");
    const ledger = ledgerOf(env.repo, id);
    const sent = env.fake.requests
      .map((q) => Math.ceil(Buffer.byteLength(q.rawBody) / 4))
      .reduce((a, b) => a + b, 0);
    const prompt = (e: Record<string, unknown>) =>
      (e.input_tokens as number) + (e.cache_read_tokens as number) + (e.cache_write_tokens as number);
    expect(ledger.reduce((a, e) => a + prompt(e), 0)).toBe(sent);
    expect(readFileSync(join(env.repo, "src/math.ts"), "utf8")).toBe(MATH);
    expect(SUBTRACT).toBeTruthy();
    // Every record is marked, by field and by note, and the report says what that means.
    for (const e of ledger) {
      expect(e).toMatchObject({ origin: "claude-code", billing: "subscription" });
      expect(e.note).toContain(SUBSCRIPTION_NOTE);
    }
    // Started outside the worktree (its files are the tool server's business): no git-worktree
    // and stash advice on every request.
    expect(env.fake.requests[0]!.rawBody).toContain("Is a git repository: false");
    expect(env.fake.requests[0]!.rawBody).not.toContain("git stash");
    const report = await env.server.call("savings_report", { project: id.split("/")[0] });
    expect(report.isError, textOf(report)).toBeFalsy();
    const totals = (report.structuredContent as { totals: Record<string, number> }).totals;
    const tokens = ledger.reduce((a, e) => a + prompt(e) + (e.output_tokens as number), 0);
    expect(totals).toMatchObject({ subscription_records: ledger.length, subscription_tokens: tokens });
    const n = ledger.length;
    expect(textOf(report)).toContain(
      `Subscription: ${n} executor record${n === 1 ? "" : "s"}, ${formatTokens(tokens)} tokens, ${formatUsd(totals.subscription_cost_usd)} at list price: billed to your subscription, not charged per token. Actual cost and savings are computed at list price.`,
    );
  }, 180_000);
});

describe("claude-code executor and the repository's own Claude Code settings", () => {
  it("runs none of the hooks a repository's .claude/settings.json names, even under the CLI's login", async () => {
    const marker = join(tmpdir(), `delegate-hook-ran-${Math.random().toString(36).slice(2)}`);
    const hook = [{ hooks: [{ type: "command", command: `touch ${marker}` }] }];
    const env = await start({ ownLogin: true });
    mkdirSync(join(env.repo, ".claude"));
    writeFileSync(
      join(env.repo, ".claude/settings.json"),
      JSON.stringify({ hooks: { SessionStart: hook, UserPromptSubmit: hook, PreToolUse: hook } }),
    );
    git(env.repo, "add", "-A");
    git(env.repo, "commit", "-qm", "project settings with hooks");
    env.fake.setHandler(byTitle({ Subtract: script([editSubtract, finish, say("Done.")]) }));
    const id = await create(env, spec("Subtract"));
    const [r] = await dispatch(env, { task_id: id });
    expect(r!.status).toBe("passed");
    expect(existsSync(marker)).toBe(false);
  }, 180_000);
});
