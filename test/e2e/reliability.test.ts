/**
 * Issue 18's breaks, each as found by an attacker against the built server, each a regression test
 * named after its item ("#18.N").
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { toolUse } from "../fakes/llm-server.js";
import { byTitle, createTask, type DispatchEnv, startDispatchEnv } from "./dispatch-helpers.js";
import { editSubtract, finish, MATH, spec } from "./fixtures.js";
import { git, textOf } from "./harness.js";

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
    expect(textOf(long)).toBe(
      "validation[0].run must be at most 8000 characters long; shorten it (put a long script in a file and run the file).",
    );
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

/** Bytes of a whole tool result as the client receives it. */
function replyBytes(r: unknown): number {
  return Buffer.byteLength(JSON.stringify(r));
}

describe("#18.7 caller text is echoed bounded, and oversized fields are refused", () => {
  it("refuses fields past their limits with one sentence, and keeps replies small at the limits", async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH });
    const huge = await env.server.call(
      "create_mini_task",
      spec("Huge step", { steps: ["x".repeat(200_000)] }),
    );
    expect(huge.isError).toBe(true);
    expect(textOf(huge)).toBe("steps[0] must be at most 2000 characters long; shorten it.");

    // At every limit: 40 steps of 2000 characters that lint warns about, each warning quoting it.
    const word = "y".repeat(2000);
    const atLimit = await env.server.call(
      "create_mini_task",
      spec("Steps at the limit", { steps: Array.from({ length: 40 }, () => word) }),
    );
    expect(atLimit.isError, textOf(atLimit)).toBeFalsy();
    const lint = (atLimit.structuredContent as { lint: { field: string; message: string }[] }).lint;
    expect(lint.filter((l) => l.field.startsWith("steps["))).toHaveLength(40);
    expect(replyBytes(atLimit)).toBeLessThan(20_000);

    const longLine = `true ${"#".repeat(7990)}`;
    const run = await env.server.call("run_validation", {
      commands: Array.from({ length: 20 }, () => ({ run: longLine, expect_output: "z".repeat(1000) })),
      continue_on_failure: true,
    });
    expect(run.isError, textOf(run)).toBeFalsy();
    expect(replyBytes(run)).toBeLessThan(20_000);
  });
});

describe("#18.9 what an attempt keeps is bounded", () => {
  it("a huge finish summary is cut to 4000 characters in the task file", async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH });
    const summary = `Done. ${"z".repeat(500_000)}`;
    env.fake.setHandler(
      byTitle({ "Add subtract": [editSubtract, toolUse("finish", { status: "complete", summary })] }),
    );
    const id = await createTask(env, spec("Add subtract"));
    const d = await env.server.call("dispatch_to_small_model", { task_id: id });
    expect(d.isError, textOf(d)).toBeFalsy();
    const file = join(env.repo, "mini-projects", `${id}.json`);
    expect(statSync(file).size).toBeLessThan(20_000);
    const stored = JSON.parse(readFileSync(file, "utf8")) as { attempts: { report: string }[] };
    expect(stored.attempts[0]!.report).toHaveLength(4000);
    expect(stored.attempts[0]!.report.startsWith("Done. zzz")).toBe(true);
  });
});

describe("#18.5 validated code is accepted code", () => {
  it("a validation command that edits the committed files fails the attempt as 'validation changed files'", async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH });
    env.fake.setHandler(byTitle({ "Add subtract": [editSubtract, finish] }));
    const id = await createTask(
      env,
      spec("Add subtract", {
        validation: [{ run: "grep -q subtract src/math.ts && sed -i 's/a - b/b - a/' src/math.ts" }],
      }),
    );
    const d = await env.server.call("dispatch_to_small_model", { task_id: id, max_fix_rounds: 0 });
    expect(d.isError, textOf(d)).toBeFalsy();
    const [r] = (
      d.structuredContent as {
        results: { status: string; validation: { passed: boolean; failed?: { output: string }[] } }[];
      }
    ).results;
    expect(r!.status).toBe("failed");
    expect(r!.validation.passed).toBe(false);
    expect(r!.validation.failed!.at(-1)!.output).toMatch(
      /^validation changed files \(src\/math\.ts\); a validation command must only check/,
    );
    // The branch holds the executor's code, and the worktree was put back to it.
    expect(git(env.repo, "show", `delegate/${id}:src/math.ts`)).toContain("return a - b;");
  });
});
