import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byTitle, createTask, type DispatchEnv, startDispatchEnv } from "./dispatch-helpers.js";
import { editSubtract, finish, MATH, SUBTRACT, spec } from "./fixtures.js";
import { git, removeDir, textOf } from "./harness.js";

type Validation = { passed: boolean; ran: number; failed?: unknown[] };
type Result = { task_id: string; status: string; validation: Validation };

describe("a wrong validation command is put right without paying again", { timeout: 120_000 }, () => {
  let env: DispatchEnv;

  beforeAll(async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH });
    env.fake.setHandler(
      byTitle({ "Wrong check": [editSubtract, finish], "Already there": [editSubtract, finish] }),
    );
  }, 120_000);
  afterAll(async () => {
    await env?.close();
    if (env) removeDir(env.repo);
  });

  it("amend replaces the task's validation, re-runs it on the worktree, passes, and accept applies it", async () => {
    const id = await createTask(
      env,
      spec("Wrong check", { validation: [{ run: "grep -q 'export function substract' src/math.ts" }] }),
    );
    const d = await env.server.call("dispatch_to_small_model", { task_id: id });
    const r = (d.structuredContent as { results: Result[] }).results[0]!;
    expect(r.status).toBe("failed");
    expect(r.validation.passed).toBe(false);
    const calls = env.fake.requests.length;

    const fixed = "grep -q 'export function subtract' src/math.ts";
    const amend = await env.server.call("run_validation", { task_id: id, commands: [fixed], amend: true });
    expect(amend.isError, textOf(amend)).toBeFalsy();
    const run = amend.structuredContent as { passed: boolean; where: string; task_status: string };
    expect(run).toMatchObject({ passed: true, where: "worktree", task_status: "passed" });
    expect(env.fake.requests.length).toBe(calls);

    const stored = JSON.parse(readFileSync(join(env.root, "mini-projects", `${id}.json`), "utf8"));
    expect(stored.validation).toEqual([{ run: fixed }]);
    expect(stored.amendments).toHaveLength(1);
    expect(stored.amendments[0]).toMatchObject({
      attempt: 1,
      from: [{ run: "grep -q 'export function substract' src/math.ts" }],
      to: [{ run: fixed }],
      passed: true,
    });
    expect(stored.attempts[0].validation).toEqual({ passed: true, ran: 1 });

    const accepted = await env.server.call("accept_task", { task_id: id });
    expect(accepted.isError, textOf(accepted)).toBeFalsy();
    expect((accepted.structuredContent as { applied: string[] }).applied).toEqual(["src/math.ts"]);
    expect(readFileSync(join(env.root, "src/math.ts"), "utf8")).toContain(SUBTRACT);
    git(env.repo, "checkout", "--", "src/math.ts");
  });

  it("amend is refused, with the fix, for a task that was never dispatched or without commands", async () => {
    const id = await createTask(env, spec("Never run"));
    const r = await env.server.call("run_validation", { task_id: id, commands: ["true"], amend: true });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toBe(
      `task ${id} is ready; amend re-checks a failed or passed attempt — dispatch it first, or create a new task.`,
    );
    const none = await env.server.call("run_validation", { task_id: id, amend: true });
    expect(textOf(none)).toBe("amend needs task_id and the corrected commands.");
  });

  it("a passing dispatch's validation stays {passed, ran}", async () => {
    const id = await createTask(env, spec("Already there"));
    const d = await env.server.call("dispatch_to_small_model", { task_id: id });
    const r = (d.structuredContent as { results: Result[] }).results[0]!;
    expect(r.status).toBe("passed");
    expect(r.validation).toEqual({ passed: true, ran: 1 });

    // The user made the same change by hand meanwhile: accepting has nothing left to do, and says so.
    writeFileSync(join(env.root, "src/math.ts"), `${MATH}\n${SUBTRACT}`);
    const accepted = await env.server.call("accept_task", { task_id: id });
    expect(accepted.isError, textOf(accepted)).toBeFalsy();
    const a = accepted.structuredContent as { applied: string[]; note?: string; status: string };
    expect(a.status).toBe("accepted");
    expect(a.applied).toEqual([]);
    expect(a.note).toBe("its changes (src/math.ts) are already in your working tree; nothing to apply");
    expect(textOf(accepted)).toMatch(
      /^calc\/\d+-already-there: accepted; its changes \(src\/math\.ts\) are already in your working tree/,
    );
  });
});
