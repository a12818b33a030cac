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
