import { readFileSync } from "node:fs";
import { join } from "node:path";
import { countTokens } from "gpt-tokenizer";
import { afterEach, describe, expect, it } from "vitest";
import { toolUse } from "../fakes/llm-server.js";
import { byTitle, createTask, type DispatchEnv, startDispatchEnv } from "./dispatch-helpers.js";
import { editSubtract, MATH, spec } from "./fixtures.js";
import { git, sleep, textOf, until } from "./harness.js";

/** A spec whose task edits or creates one file, reading none, checked by `run`. */
function fileSpec(title: string, file: string, action: "edit" | "create", run: string, extra = {}) {
  return spec(title, {
    files_to_read: [],
    files_to_modify: [{ path: file, action }],
    validation: [{ run }],
    ...extra,
  });
}

const validate = toolUse("run_validation", {});
const finish = (status = "complete") =>
  toolUse("finish", {
    status,
    summary: "Mini-Task: subtract — COMPLETE ✅\nChanged: src/math.ts: added subtract",
  });

type Result = {
  task_id: string;
  status: string;
  attempt: number;
  files_changed?: { path: string; added: number; removed: number }[];
  validation?: {
    passed: boolean;
    ran: number;
    failed?: { run: string; exit_code: number | null; output: string }[];
  };
  usage?: { input_tokens: number; output_tokens: number; cost_usd: number | null; model: string };
  report?: string;
  out_of_scope?: string[];
};

async function dispatch(env: DispatchEnv, args: Record<string, unknown>): Promise<Result[]> {
  const r = await env.server.call("dispatch_to_small_model", args);
  expect(r.isError, textOf(r)).toBeFalsy();
  return (r.structuredContent as { results: Result[] }).results;
}

let env: DispatchEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

describe.each(["anthropic", "openai"] as const)("dispatch over the %s wire", (wire) => {
  it("runs a passing edit task end to end and leaves the user's tree and HEAD untouched", async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH }, { wire });
    env.fake.setHandler(byTitle({ "Add subtract": [editSubtract, validate, finish()] }));
    const head = git(env.repo, "rev-parse", "HEAD");
    const id = await createTask(env, spec("Add subtract"));
    const [r] = await dispatch(env, { task_id: id });
    // A passing task is read once: id, status, files with line counts, {passed, ran} (get_task has the rest).
    expect(r).toEqual({
      task_id: id,
      status: "passed",
      files_changed: [{ path: "src/math.ts", added: 4, removed: 0 }],
      validation: { passed: true, ran: 1 },
    });
    expect(env.fake.requests).toHaveLength(3);

    // The user's tree is untouched until accept_task.
    expect(readFileSync(join(env.repo, "src/math.ts"), "utf8")).toBe(MATH);
    expect(git(env.repo, "rev-parse", "HEAD")).toBe(head);
    expect(git(env.repo, "status", "--porcelain")).toBe("");
    // The change lives on the task's branch.
    expect(git(env.repo, "show", `delegate/${id}:src/math.ts`)).toContain("export function subtract");

    const got = await env.server.call("get_task", { task_id: id });
    const task = got.structuredContent as {
      status: string;
      attempts: {
        n: number;
        usage: { input_tokens: number; model: string };
        validation: unknown;
        report: string;
      }[];
    };
    expect(task.status).toBe("passed");
    expect(task.attempts[0]).toMatchObject({ n: 1, validation: { passed: true, ran: 1 } });
    expect(task.attempts[0]!.usage.input_tokens).toBeGreaterThan(0);
    expect(task.attempts[0]!.usage.model).toBe("fake");
    expect(task.attempts[0]!.report).toContain("COMPLETE");

    const ledger = readFileSync(join(env.repo, "mini-projects/ledger.jsonl"), "utf8").trim().split("\n");
    expect(ledger).toHaveLength(3);
    const rec = JSON.parse(ledger[0]!);
    expect(rec).toMatchObject({
      project: "calc",
      task: id,
      attempt: 1,
      phase: "execution",
      source: "measured",
    });
  });
});

describe.each(["anthropic", "openai"] as const)(
  "dispatch over the %s wire: the server checks for itself",
  (wire) => {
    it("reports a failing validation with the failing command and its output tail", async () => {
      env = await startDispatchEnv({ "src/math.ts": MATH }, { wire });
      env.fake.setHandler(
        byTitle({
          "Wrong edit": [toolUse("write_file", { path: "src/math.ts", content: "oops\n" }), finish()],
        }),
      );
      const id = await createTask(
        env,
        spec("Wrong edit", {
          validation: [
            {
              run: "echo checking; grep 'export function subtract' src/math.ts || { echo MISSING-SUBTRACT >&2; exit 3; }",
            },
          ],
        }),
      );
      const [r] = await dispatch(env, { task_id: id });
      // The executor said "complete"; the server's own validation says otherwise.
      expect(r!.status).toBe("failed");
      expect(r!.validation!.passed).toBe(false);
      expect(r!.validation!.failed![0]!.exit_code).toBe(3);
      expect(r!.validation!.failed![0]!.output).toContain("MISSING-SUBTRACT");
    });

    it("answers edit_file with no match and with two matches by writing nothing and explaining", async () => {
      env = await startDispatchEnv(
        { "src/dup.ts": "const x = 1;\nconst x = 1;\nexport const y = 2;\n" },
        { wire },
      );
      env.fake.setHandler(
        byTitle({
          "Edit dup": [
            toolUse("edit_file", { path: "src/dup.ts", old_string: "export const y = 3;", new_string: "z" }),
            toolUse("edit_file", {
              path: "src/dup.ts",
              old_string: "const x = 1;",
              new_string: "const x = 9;",
            }),
            finish("failed"),
          ],
        }),
      );
      const id = await createTask(
        env,
        spec("Edit dup", {
          files_to_read: [{ path: "src/dup.ts" }],
          files_to_modify: [{ path: "src/dup.ts", action: "edit" }],
          validation: [{ run: "grep -q 'x = 9' src/dup.ts" }],
        }),
      );
      const [r] = await dispatch(env, { task_id: id });
      expect(r!.status).toBe("failed");
      const toolResults = env.fake.requests.flatMap((q) => q.messages.flatMap((m) => m.toolResults));
      const noMatch = toolResults.find((t) => t.content.includes("was not found"));
      expect(noMatch?.content).toMatch(/closest text is at line 3/);
      // Anthropic flags tool errors; OpenAI has no flag, so the provider prefixes the text.
      expect(noMatch!.isError || noMatch!.content.startsWith("Error")).toBe(true);
      const twoMatches = toolResults.find((t) => t.content.includes("matches 2 places"));
      expect(twoMatches?.content).toMatch(/lines 1, 2/);
      expect(r!.files_changed).toEqual([]);
      expect(git(env.repo, "show", `delegate/${id}:src/dup.ts`)).toBe(
        "const x = 1;\nconst x = 1;\nexport const y = 2;\n",
      );
    });

    it("refuses writes and reads of unlisted files and reports them to the planner", async () => {
      env = await startDispatchEnv(
        { "src/math.ts": MATH, "src/secret.ts": "export const k = 1;\n" },
        { wire },
      );
      env.fake.setHandler(
        byTitle({
          Stray: [
            toolUse("write_file", { path: "src/other.ts", content: "x" }),
            toolUse("read_file", { path: "src/secret.ts" }),
            toolUse("write_file", { path: ".git/hooks/pre-commit", content: "evil" }),
            editSubtract,
            finish(),
          ],
        }),
      );
      const id = await createTask(env, spec("Stray"));
      const [r] = await dispatch(env, { task_id: id });
      expect(r!.status).toBe("passed");
      const got = await env.server.call("get_task", { task_id: id });
      const attempt = (got.structuredContent as { attempts: { refused?: string[] }[] }).attempts[0]!;
      expect(attempt.refused).toHaveLength(3);
      expect(attempt.refused!.join("\n")).toMatch(/src\/other\.ts/);
      expect(attempt.refused!.join("\n")).toMatch(/src\/secret\.ts/);
      expect(git(env.repo, "ls-tree", "-r", "--name-only", `delegate/${id}`)).not.toContain("src/other.ts");
      const sent = env.fake.requests.map((q) => q.rawBody).join("\n");
      expect(sent).not.toContain("export const k = 1");
    });

    it("stops at max_turns with budget_exceeded and keeps the partial usage", async () => {
      env = await startDispatchEnv({ "src/math.ts": MATH }, { wire });
      env.fake.setHandler(() => toolUse("read_file", { path: "src/math.ts" }));
      const id = await createTask(env, spec("Loops forever"));
      const [r] = await dispatch(env, { task_id: id, max_turns: 3 });
      expect(r!.status).toBe("budget_exceeded");
      expect(env.fake.requests).toHaveLength(3);
      expect(r!.usage!.input_tokens).toBeGreaterThan(0);
      expect(r!.report).toMatch(/max_turns \(3\)/);
    });

    it("refuses a call whose worst case would exceed budget_usd", async () => {
      env = await startDispatchEnv({ "src/math.ts": MATH }, { wire });
      env.fake.setHandler(() => toolUse("read_file", { path: "src/math.ts" }));
      const id = await createTask(env, spec("Tiny budget"));
      const [r] = await dispatch(env, { task_id: id, budget_usd: 0.00001 });
      expect(r!.status).toBe("budget_exceeded");
      expect(env.fake.requests).toHaveLength(0);
      expect(r!.report).toMatch(/budget/);
    });

    it("sends only the requested line ranges of a large file", async () => {
      const big = Array.from(
        { length: 3000 },
        (_, i) => `export const v${i + 1} = ${i + 1}; // line ${i + 1}`,
      ).join("\n");
      env = await startDispatchEnv({ "src/big.ts": `${big}\n` }, { wire });
      env.fake.setHandler(
        byTitle({
          "Edit big": [
            toolUse("edit_file", {
              path: "src/big.ts",
              old_string: "export const v20 = 20;",
              new_string: "export const v20 = 2000;",
            }),
            finish(),
          ],
        }),
      );
      const id = await createTask(
        env,
        spec("Edit big", {
          files_to_read: [{ path: "src/big.ts", lines: "10-40" }],
          files_to_modify: [{ path: "src/big.ts", action: "edit" }],
          validation: [{ run: "grep -q 'v20 = 2000' src/big.ts" }],
        }),
      );
      const [r] = await dispatch(env, { task_id: id });
      expect(r!.status).toBe("passed");
      const first = env.fake.requests[0]!.rawBody;
      expect(first).toContain("line 10");
      expect(first).toContain("line 40");
      expect(first).not.toContain("line 41;");
      expect(first).not.toContain("line 1500");
      expect(first).toContain("10-40 of 3000");
    });

    it("runs independent tasks in parallel and a dependent one after its dependency, from its branch", async () => {
      env = await startDispatchEnv(
        {
          "src/a.ts": "export const a = 1;\n",
          "src/b.ts": "export const b = 1;\n",
        },
        { wire },
      );
      const active = { now: 0, max: 0 };
      const slow = (reply: ReturnType<typeof toolUse>) => async () => {
        active.now++;
        active.max = Math.max(active.max, active.now);
        await sleep(150);
        active.now--;
        return reply;
      };
      env.fake.setHandler(
        byTitle({
          "Edit a": [
            slow(toolUse("write_file", { path: "src/a.ts", content: "export const a = 2;\n" })),
            finish(),
          ],
          "Edit b": [
            slow(toolUse("write_file", { path: "src/b.ts", content: "export const b = 2;\n" })),
            finish(),
          ],
          "Use a": [
            toolUse("write_file", {
              path: "src/c.ts",
              content: "import { a } from './a';\nexport const c = a;\n",
            }),
            finish(),
          ],
        }) as never,
      );
      const a = await createTask(env, fileSpec("Edit a", "src/a.ts", "edit", "grep -q 'a = 2' src/a.ts"));
      const b = await createTask(env, fileSpec("Edit b", "src/b.ts", "edit", "grep -q 'b = 2' src/b.ts"));
      const c = await createTask(
        env,
        // Passes only when the worktree started from a's branch.
        fileSpec("Use a", "src/c.ts", "create", "grep -q 'a = 2' src/a.ts && test -f src/c.ts", {
          depends_on: [a],
        }),
      );
      const results = await dispatch(env, { task_ids: [c, a, b] });
      expect(results.map((r) => [r.task_id, r.status])).toEqual([
        [c, "passed"],
        [a, "passed"],
        [b, "passed"],
      ]);
      expect(active.max).toBe(2);
      const firstOfC = env.fake.requests.findIndex((q) => q.rawBody.includes("# Task: Use a"));
      const lastOfA = env.fake.requests.findLastIndex((q) => q.rawBody.includes("# Task: Edit a"));
      expect(firstOfC).toBeGreaterThan(lastOfA);
    });

    it("marks a dependent blocked when its dependency fails, and runs nothing for it", async () => {
      env = await startDispatchEnv({ "src/a.ts": "export const a = 1;\n" }, { wire });
      env.fake.setHandler(byTitle({ "Edit a": [finish("failed")] }));
      const a = await createTask(env, fileSpec("Edit a", "src/a.ts", "edit", "grep -q 'a = 2' src/a.ts"));
      const c = await createTask(
        env,
        fileSpec("Then c", "src/c.ts", "create", "test -f src/c.ts", { depends_on: [a] }),
      );
      const results = await dispatch(env, { task_ids: [a, c] });
      expect(results.map((r) => r.status)).toEqual(["failed", "blocked"]);
      expect(env.fake.requests.some((q) => q.rawBody.includes("# Task: Then c"))).toBe(false);
    });

    it("cancels mid-call: the attempt is cancelled and recorded", async () => {
      env = await startDispatchEnv({ "src/math.ts": MATH }, { wire });
      env.fake.setHandler(() => ({ hang: true }));
      const id = await createTask(env, spec("Hangs"));
      const controller = new AbortController();
      const call = env.server.client.callTool(
        { name: "dispatch_to_small_model", arguments: { task_id: id } },
        undefined,
        { signal: controller.signal, timeout: 60_000 },
      );
      await until(() => env!.fake.requests.length > 0);
      controller.abort();
      await expect(call).rejects.toThrow();
      let status = "running";
      for (let i = 0; i < 100 && status === "running"; i++) {
        await sleep(50);
        const got = await env.server.call("get_task", { task_id: id });
        status = (got.structuredContent as { status: string }).status;
      }
      expect(status).toBe("cancelled");
    });

    it("reports each turn and the validation step as MCP progress, and keeps the passing result small", async () => {
      env = await startDispatchEnv({ "src/math.ts": MATH }, { wire });
      env.fake.setHandler(byTitle({ Progress: [editSubtract, validate, finish()] }));
      const id = await createTask(env, spec("Progress"));
      const messages: string[] = [];
      const r = await env.server.client.callTool(
        { name: "dispatch_to_small_model", arguments: { task_id: id } },
        undefined,
        { onprogress: (p) => messages.push(String(p.message)) },
      );
      expect(r.isError).toBeFalsy();
      expect(messages).toEqual(
        expect.arrayContaining([
          `${id}: turn 1/12 on fake`,
          `${id}: turn 3/12 on fake`,
          `${id}: validation 1/1: grep -q 'export function subtract' src/math.ts`,
          `${id}: server-side validation: the run after the last edit stands`,
          `${id}: attempt 1: passed`,
        ]),
      );
      // The executor's run_validation came after its last edit: the commands ran once, not twice.
      expect(messages.filter((m) => m.includes(": validation 1/1"))).toHaveLength(1);
      // What the planner reads and pays for: about 60 tokens for a passing task, plus the total.
      const { results } = r.structuredContent as { results: unknown[] };
      expect(countTokens(JSON.stringify(results[0]))).toBeLessThanOrEqual(60);
      expect(countTokens(JSON.stringify(r.structuredContent))).toBeLessThanOrEqual(90);
    });

    it("re-runs validation itself when the executor edited after its own passing run", async () => {
      env = await startDispatchEnv({ "src/math.ts": MATH }, { wire });
      env.fake.setHandler(
        byTitle({
          "Edit after check": [
            editSubtract,
            validate,
            // Breaks the file after the passing run, then claims success.
            toolUse("write_file", { path: "src/math.ts", content: "broken\n" }),
            finish(),
          ],
        }),
      );
      const id = await createTask(env, spec("Edit after check"));
      const [r] = await dispatch(env, { task_id: id });
      expect(r!.status).toBe("failed");
      expect(r!.validation).toMatchObject({ passed: false, ran: 1 });
    });

    it("escalates a failed attempt once to escalate_to, billing each attempt separately", async () => {
      const big =
        wire === "anthropic"
          ? { provider: "anthropic", model: "claude-sonnet-4-5", api_key_env: "FAKE_KEY" }
          : { provider: "openai", model: "gpt-4.1", api_key_env: "FAKE_KEY" };
      env = await startDispatchEnv({ "src/math.ts": MATH }, { wire, extraModels: { big } });
      const bigModel = big.model;
      env.fake.setHandler((req) =>
        // The small model gives up; the big one does the edit.
        req.model === bigModel
          ? [editSubtract, finish()][req.messages.filter((m) => m.role === "assistant").length]!
          : finish("failed"),
      );
      const id = await createTask(env, spec("Escalate"));
      const [r] = await dispatch(env, { task_id: id, escalate_to: "big" });
      expect(r).toMatchObject({ status: "passed", attempt: 2 });
      expect((r as { escalated_from?: string }).escalated_from).toMatch(/attempt 1 on fake: failed/);
      const got = (await env.server.call("get_task", { task_id: id })).structuredContent as {
        attempts: { n: number; status: string; model: string; escalation_of?: number }[];
      };
      expect(got.attempts.map((a) => [a.n, a.status, a.model, a.escalation_of])).toEqual([
        [1, "failed", "fake", undefined],
        [2, "passed", "big", 1],
      ]);
      const ledger = readFileSync(join(env.repo, "mini-projects/ledger.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(ledger.filter((e) => e.attempt === 1 && !e.escalation)).toHaveLength(1);
      expect(
        ledger.filter((e) => e.attempt === 2 && e.escalation === true && e.model === bigModel),
      ).toHaveLength(2);
    });

    it("wait:false returns at once and get_task shows the outcome later", async () => {
      env = await startDispatchEnv({ "src/math.ts": MATH }, { wire });
      env.fake.setHandler(byTitle({ Background: [editSubtract, finish()] }));
      const id = await createTask(env, spec("Background"));
      const [r] = await dispatch(env, { task_id: id, wait: false });
      expect(r).toEqual({ task_id: id, status: "running", attempt: 1 });
      let status = "running";
      for (let i = 0; i < 200 && status === "running"; i++) {
        await sleep(50);
        status = (
          (await env.server.call("get_task", { task_id: id })).structuredContent as { status: string }
        ).status;
      }
      expect(status).toBe("passed");
    });
  },
);
