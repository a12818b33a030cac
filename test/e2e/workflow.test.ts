import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { toolUse } from "../fakes/llm-server.js";
import { byTitle, createTask, type DispatchEnv, startDispatchEnv } from "./dispatch-helpers.js";
import { editSubtract, MATH } from "./fixtures.js";
import { git, textOf } from "./harness.js";

const finish = toolUse("finish", { status: "complete", summary: "Mini-Task — COMPLETE ✅" });

let env: DispatchEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function ok(env: DispatchEnv, name: string, args: Record<string, unknown>) {
  const r = await env.server.call(name, args);
  expect(r.isError, `${name}: ${textOf(r)}`).toBeFalsy();
  return r.structuredContent as Record<string, unknown>;
}

/** A spec that reads and edits src/math.ts, checked by `run`. */
function mathEdit(title: string, run: string, extra: Record<string, unknown> = {}) {
  return spec(title, {
    files_to_read: [{ path: "src/math.ts" }],
    files_to_modify: [{ path: "src/math.ts", action: "edit" }],
    validation: [{ run }],
    ...extra,
  });
}

function spec(title: string, extra: Record<string, unknown>) {
  return {
    project: "calc",
    title,
    objective: `${title} in the calc module.`,
    steps: ["Add the function exactly as in the snippet."],
    acceptance_criteria: ["the function exists"],
    ...extra,
  };
}

describe("the whole workflow through the stdio server", () => {
  it("plans, dispatches two dependent tasks, reviews, accepts both, logs tokens and reports", async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH, "src/index.ts": "export * from './math';\n" });
    env.fake.setHandler(
      byTitle({
        "Add subtract": [editSubtract, toolUse("run_validation", {}), finish],
        "Add negate": [
          toolUse("edit_file", {
            path: "src/math.ts",
            old_string: "  return a - b;\n}\n",
            new_string:
              "  return a - b;\n}\n\nexport function negate(a: number): number {\n  return subtract(0, a);\n}\n",
          }),
          finish,
        ],
      }),
    );
    const decision = await ok(env, "should_delegate", {
      well_defined: true,
      repetitive_edit_count: 0,
      needs_exploration: false,
      multi_file: true,
      atomic_task_count: 5,
      needs_user_input: false,
    });
    expect(decision.decision).toBe("delegate");

    const a = await createTask(
      env,
      mathEdit("Add subtract", "grep -q 'export function subtract' src/math.ts"),
    );
    const b = await createTask(
      env,
      mathEdit(
        "Add negate",
        "grep -q 'export function negate' src/math.ts && grep -q 'export function subtract' src/math.ts",
        { depends_on: [a] },
      ),
    );

    const dispatched = (await ok(env, "dispatch_to_small_model", { task_ids: [a, b] })).results as {
      status: string;
    }[];
    expect(dispatched.map((r) => r.status)).toEqual(["passed", "passed"]);

    const review = await ok(env, "review_task", { task_id: a });
    expect(review).toMatchObject({ task_id: a, status: "passed", out_of_scope: [], truncated: false });
    expect(review.diff).toContain("+export function subtract");
    expect(review.stat).toContain("src/math.ts");

    expect(await ok(env, "accept_task", { task_id: a })).toMatchObject({
      status: "accepted",
      applied: ["src/math.ts"],
    });
    expect(await ok(env, "accept_task", { task_id: b, commit: true })).toMatchObject({ status: "accepted" });
    // Idempotent.
    expect(await ok(env, "accept_task", { task_id: b })).toMatchObject({ status: "accepted", already: true });

    const math = readFileSync(join(env.repo, "src/math.ts"), "utf8");
    expect(math).toBe(
      `${MATH}\nexport function subtract(a: number, b: number): number {\n  return a - b;\n}\n\nexport function negate(a: number): number {\n  return subtract(0, a);\n}\n`,
    );
    expect(git(env.repo, "log", "-1", "--format=%s")).toContain("Add negate");
    expect(git(env.repo, "status", "--porcelain")).toBe("");
    expect(git(env.repo, "worktree", "list", "--porcelain").match(/^worktree /gm)).toHaveLength(1);
    expect(git(env.repo, "branch", "--list", "delegate/*")).toBe("");

    await ok(env, "log_tokens", {
      project: "calc",
      phase: "planning",
      model: "sonnet",
      input_tokens: 20000,
      output_tokens: 3000,
    });
    await ok(env, "log_tokens", {
      project: "calc",
      phase: "verification",
      model: "sonnet",
      input_tokens: 8000,
      output_tokens: 1000,
    });
    const report = await ok(env, "savings_report", { project: "calc" });
    expect(report.project).toBe("calc");
    expect(report.actual_cost_usd).toBeGreaterThan(0);
    expect(report.counterfactual_basis).toBe("lower_bound");
    expect((report.tasks as unknown[]).length).toBe(2);
    expect(readFileSync(join(env.repo, "mini-projects/calc/LOG.md"), "utf8")).toContain("calc");

    const log = await env.server.client.readResource({ uri: "delegate://projects/calc/log" });
    expect((log.contents[0] as { text: string }).text).toContain("Token Usage");
  });

  it("refuses to accept over a conflicting local change and changes nothing; discard is idempotent", async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH });
    env.fake.setHandler(
      byTitle({
        "Change add": [
          toolUse("write_file", { path: "src/math.ts", content: MATH.replace("a + b", "b + a") }),
          finish,
        ],
      }),
    );
    const id = await createTask(env, mathEdit("Change add", "grep -q 'b + a' src/math.ts"));
    await ok(env, "dispatch_to_small_model", { task_id: id });
    const local = MATH.replace("a + b", "a + b + 0");
    writeFileSync(join(env.repo, "src/math.ts"), local);
    const r = await env.server.call("accept_task", { task_id: id });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/src\/math\.ts/);
    expect(readFileSync(join(env.repo, "src/math.ts"), "utf8")).toBe(local);
    expect(((await ok(env, "get_task", { task_id: id })) as { status: string }).status).toBe("passed");

    expect(await ok(env, "discard_task", { task_id: id })).toMatchObject({ status: "discarded" });
    expect(await ok(env, "discard_task", { task_id: id })).toMatchObject({
      status: "discarded",
      already: true,
    });
    expect(git(env.repo, "branch", "--list", "delegate/*")).toBe("");
    expect(git(env.repo, "worktree", "list", "--porcelain").match(/^worktree /gm)).toHaveLength(1);
  });

  it("review_task cuts a long diff and saves the whole one to diff_path", async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH });
    const big = Array.from(
      { length: 4000 },
      (_, i) => `export const value${i} = ${i}; // generated line ${i}`,
    ).join("\n");
    env.fake.setHandler(
      byTitle({
        "Generate table": [toolUse("write_file", { path: "src/table.ts", content: `${big}\n` }), finish],
      }),
    );
    const id = await createTask(
      env,
      spec("Generate table", {
        files_to_modify: [{ path: "src/table.ts", action: "create" }],
        validation: [{ run: "test -f src/table.ts" }],
      }),
    );
    await ok(env, "dispatch_to_small_model", { task_id: id });
    const review = (await env.server.call("review_task", { task_id: id })).structuredContent as {
      truncated: boolean;
      diff: string;
      diff_path?: string;
      stat: string;
    };
    expect(review.truncated).toBe(true);
    expect(review.diff.length).toBeLessThanOrEqual(40_000);
    expect(review.stat).toContain("src/table.ts");
    const whole = readFileSync(join(env.repo, review.diff_path!), "utf8");
    expect(whole).toContain("generated line 3999");
    expect(whole.length).toBeGreaterThan(review.diff.length);
  });

  it("refuses a dependent whose dependency never ran, naming it, and marks nothing", async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH });
    const base = {
      files_to_modify: [{ path: "src/math.ts", action: "edit" }],
      validation: [{ run: "true" }],
    };
    const a = await createTask(env, spec("First step", base));
    const b = await createTask(env, spec("Second step", { ...base, depends_on: [a] }));
    const r = await env.server.call("dispatch_to_small_model", { task_id: b });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toBe(
      `task_ids: ${b} depends on ${a}, which is ready; add ${a} to task_ids or dispatch it first.`,
    );
    expect(((await ok(env, "get_task", { task_id: b })) as { status: string }).status).toBe("ready");
    expect(env.fake.requests).toHaveLength(0);
  });

  it("works in a workspace that is a subdirectory of the repository (a monorepo package)", async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH }, { subdir: "packages/calc" });
    env.fake.setHandler(
      byTitle({
        "Package edit": [
          toolUse("edit_file", { path: "src/math.ts", old_string: "a + b", new_string: "b + a" }),
          toolUse("run_validation", {}),
          finish,
        ],
      }),
    );
    const id = await createTask(env, mathEdit("Package edit", "grep -q 'b + a' src/math.ts"));
    const [r] = (await ok(env, "dispatch_to_small_model", { task_id: id })).results as {
      status: string;
      files_changed: unknown[];
      out_of_scope?: string[];
    }[];
    expect(r).toMatchObject({
      status: "passed",
      files_changed: [{ path: "src/math.ts", added: 1, removed: 1 }],
    });
    expect(r!.out_of_scope).toBeUndefined();
    // The executor was shown the file (not told it does not exist).
    expect(env.fake.requests[0]!.rawBody).toContain("return a + b;");
    expect(await ok(env, "accept_task", { task_id: id })).toMatchObject({
      applied: ["packages/calc/src/math.ts"],
    });
    expect(readFileSync(join(env.root, "src/math.ts"), "utf8")).toContain("b + a");
  });

  it("savings_report for a project that does not exist says so and writes nothing", async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH });
    const r = await env.server.call("savings_report", { project: "calcc" });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toBe('project "calcc" has no tasks and no ledger records.');
    expect(existsSync(join(env.root, "mini-projects/calcc"))).toBe(false);
  });

  it("serves the prompts and resources", async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH });
    const plan = await env.server.client.getPrompt({
      name: "plan_delegation",
      arguments: { goal: "Split the parser", project: "parser" },
    });
    const planText = (plan.messages[0]!.content as { text: string }).text;
    expect(planText).toContain("Split the parser");
    expect(planText).toContain("## Acceptance criteria");
    expect(planText).toContain("10 or more repetitive edits");
    const verify = await env.server.client.getPrompt({
      name: "verify_delegation",
      arguments: { project: "parser" },
    });
    expect((verify.messages[0]!.content as { text: string }).text).toContain("review_task");
    const template = await env.server.client.readResource({ uri: "delegate://templates/mini-task" });
    expect((template.contents[0] as { text: string }).text).toContain("## Files to read");
    const missing = await env.server.client
      .readResource({ uri: "delegate://projects/nope/log" })
      .catch((e: Error) => e);
    expect(String(missing)).toMatch(/savings_report/);
  });
});
