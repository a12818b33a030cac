/**
 * Issue 18's breaks, each as found by an attacker against the built server, each a regression test
 * named after its item ("#18.N").
 */
import { afterEach, describe, expect, it } from "vitest";
import { byTitle, createTask, type DispatchEnv, startDispatchEnv } from "./dispatch-helpers.js";
import { editSubtract, finish, MATH, spec } from "./fixtures.js";
import { textOf } from "./harness.js";

const CATASTROPHIC = { run: `printf '${"a".repeat(34)}!'`, expect_output: "/^(a+)+$/" };

let env: DispatchEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

describe("#18.1 a regex never blocks the server", () => {
  it("run_validation and a dispatch's stored validation fail the pattern while other calls are answered", async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH });
    env.fake.setHandler(byTitle({ "Add subtract": [editSubtract, finish] }));
    const id = await createTask(env, spec("Add subtract", { validation: [{ run: "true" }, CATASTROPHIC] }));
    const adHoc = env.server.call("run_validation", { commands: [CATASTROPHIC] });
    const dispatched = env.server.call("dispatch_to_small_model", { task_id: id, max_fix_rounds: 0 });
    // Answered while both patterns are being matched (before the fix the event loop spun for hours).
    const listed = await env.server.call("list_tasks", { project: "calc" });
    expect(listed.isError, textOf(listed)).toBeFalsy();

    const run = (await adHoc).structuredContent as { passed: boolean; results: { error?: string }[] };
    expect(run.passed).toBe(false);
    expect(run.results[0]!.error).toMatch(/did not finish matching within 2 s; simplify the pattern/);

    const d = await dispatched;
    expect(d.isError, textOf(d)).toBeFalsy();
    const [result] = (
      d.structuredContent as { results: { status: string; validation?: { failed?: unknown[] } }[] }
    ).results;
    expect(result!.status).toBe("failed");
    expect(JSON.stringify(result!.validation)).toContain("simplify the pattern");
  });
});

describe("#18.6 commands that can never run are refused before anything is paid", () => {
  it("create_mini_task refuses a NUL byte or an over-limit line; run_validation answers a caller error", async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH });
    const nul = await env.server.call(
      "create_mini_task",
      spec("Nul run", { validation: [{ run: "true\0" }] }),
    );
    expect(nul.isError).toBe(true);
    expect(textOf(nul)).toBe(
      "validation[0].run must not contain a NUL byte (no shell line can hold one); remove it.",
    );
    const long = await env.server.call(
      "create_mini_task",
      spec("Long run", { validation: [{ run: `echo ${"x".repeat(140_000)}` }] }),
    );
    expect(long.isError).toBe(true);
    expect(textOf(long)).toBe("validation[0].run must be at most 8000 characters long.");
    const listed = await env.server.call("list_tasks", { project: "calc" });
    expect((listed.structuredContent as { count: number }).count).toBe(0);
    expect(env.fake.requests).toHaveLength(0);

    for (const commands of [["true\0"], [{ run: "true\0" }], [`echo ${"x".repeat(140_000)}`]]) {
      const r = await env.server.call("run_validation", { commands });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/^commands\[0\](\.run)? must (not contain a NUL byte|be at most 8000)/);
    }
  });
});
