/**
 * One planner turn per batch of work: inline specs, accept "on_pass", include_diff, templates,
 * and the two-turn executor (no run_validation; the server's validation decides).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { countTokens } from "gpt-tokenizer";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeRequest, toolUse } from "../fakes/llm-server.js";
import { type DispatchEnv, startDispatchEnv, taskTitleOf, turnOf } from "./dispatch-helpers.js";
import { git, textOf } from "./harness.js";

type Item = {
  task_id: string;
  status: string;
  attempt?: number;
  files_changed?: { path: string; added: number; removed: number }[];
  applied?: string[];
  validation?: { passed: boolean; failed?: { output: string }[] };
  diff?: string;
};

const N = 10;
const FILES = Object.fromEntries(
  Array.from({ length: N }, (_, i) => [
    `src/p${i}.ts`,
    `export function f${i}(): number {\n  return ${i};\n}\n`,
  ]),
);
const LONG = Array.from({ length: 400 }, (_, i) => `export const c${i} = ${i};`).join("\n");

/** A spec documenting f<i> in src/p<i>.ts (a template when `targets` is given). */
function docSpec(name: string, extra: Record<string, unknown> = {}) {
  return {
    project: "docs",
    title: `Document ${name}`,
    objective: `Add a JSDoc line above the function in src/${name}.ts.`,
    files_to_modify: [{ path: `src/${name}.ts`, action: "edit" }],
    steps: [`Add the line /** Returns a constant. */ above the function in src/${name}.ts.`],
    acceptance_criteria: ["the function has a JSDoc line"],
    validation: [{ run: `grep -q 'Returns a constant' src/${name}.ts` }],
    ...extra,
  };
}

/**
 * The executor in two turns: one edit, then finish (no run_validation). The file named in the
 * title gets the JSDoc line, except those in `wrong`, which get an edit that fails validation.
 */
function twoTurnExecutor(wrong: Set<string>) {
  return (req: FakeRequest) => {
    const name = /Document (p\d+)/.exec(taskTitleOf(req) ?? "")?.[1];
    if (!name) throw new Error(`unexpected task ${taskTitleOf(req)}`);
    const fn = `export function f${name.slice(1)}(`;
    if (turnOf(req) === 0)
      return toolUse("edit_file", {
        path: `src/${name}.ts`,
        old_string: fn,
        new_string: wrong.has(name) ? `// TODO\n${fn}` : `/** Returns a constant. */\n${fn}`,
      });
    return toolUse("finish", { status: "complete", summary: `Documented ${name}.` });
  };
}

let env: DispatchEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

describe("one planner turn per batch", () => {
  it("refuses inline specs when any is malformed or has blocking lint, naming each, storing nothing", async () => {
    env = await startDispatchEnv({ ...FILES, "src/long.ts": `${LONG}\n` });
    const r = await env.server.call("dispatch_to_small_model", {
      specs: [
        docSpec("p0"),
        docSpec("p1", { validation: [] }),
        docSpec("p2", { files_to_read: [{ path: "src/long.ts" }] }),
        docSpec("p3", { colour: "red" }),
      ],
    });
    expect(r.isError).toBe(true);
    const text = textOf(r);
    expect(text).toMatch(/^Nothing stored or run:/);
    for (const field of ["specs[1].validation", "specs[2].files_to_read[0].lines", "specs[3]"])
      expect(text).toContain(field);
    expect(text).toContain('Unknown field "colour"');
    expect(text).toContain("reads all 400 lines of src/long.ts");
    expect(text).not.toContain("specs[0]");
    const listed = await env.server.call("list_tasks", { project: "docs" });
    expect((listed.structuredContent as { count: number }).count).toBe(0);
    expect(env.fake.requests).toHaveLength(0);
    expect(git(env.repo, "status", "--porcelain")).toBe("");
  });

  it("creates and runs inline specs in one call; on_pass applies only the passing task; include_diff shows the failing one", async () => {
    env = await startDispatchEnv(FILES);
    env.fake.setHandler(twoTurnExecutor(new Set(["p1"])));
    const r = await env.server.call("dispatch_to_small_model", {
      specs: [docSpec("p0"), docSpec("p1")],
      accept: "on_pass",
      include_diff: true,
    });
    expect(r.isError, textOf(r)).toBeFalsy();
    const { results } = r.structuredContent as { results: Item[] };
    expect(results[0]).toEqual({
      task_id: "docs/01-document-p0",
      status: "accepted",
      files_changed: [{ path: "src/p0.ts", added: 1, removed: 0 }],
      validation: { passed: true, ran: 1 },
      applied: ["src/p0.ts"],
    });
    expect(results[1]).toMatchObject({ task_id: "docs/02-document-p1", status: "failed", attempt: 1 });
    expect(results[1]!.validation!.passed).toBe(false);
    expect(results[1]!.diff).toContain("+// TODO");
    // Two executor turns per task: the edit, then finish; the server's validation decided.
    expect(env.fake.requests).toHaveLength(4);
    expect(
      env.fake.requests.every((q) =>
        q.messages.every((m) => m.toolCalls.every((c) => c.name !== "run_validation")),
      ),
    ).toBe(true);
    // Only the passing task reached the working tree; nothing else changed.
    expect(git(env.repo, "status", "--porcelain").trim()).toBe("M src/p0.ts");
    expect(readFileSync(join(env.repo, "src/p0.ts"), "utf8")).toContain("/** Returns a constant. */");
    expect(readFileSync(join(env.repo, "src/p1.ts"), "utf8")).toBe(FILES["src/p1.ts"]);
  });

  it("runs a template's 10 targets by its id, one failing validation, for about 60 tokens per passing task", async () => {
    env = await startDispatchEnv(FILES);
    env.fake.setHandler(twoTurnExecutor(new Set(["p7"])));
    const created = await env.server.call(
      "create_mini_task",
      docSpec("{{name}}", { targets: Array.from({ length: N }, (_, i) => ({ name: `p${i}` })) }),
    );
    expect(created.isError, textOf(created)).toBeFalsy();
    const made = created.structuredContent as { id: string; task_ids: string[] };
    expect(made.id).toBe("docs/t01-document-name");
    expect(made.task_ids).toHaveLength(N);
    expect(made.task_ids[7]).toBe("docs/08-document-p7");

    const r = await env.server.call("dispatch_to_small_model", { template: made.id, accept: "on_pass" });
    expect(r.isError, textOf(r)).toBeFalsy();
    const out = r.structuredContent as { results: Item[]; total: { tasks: number; passed: number } };
    expect(out.total).toMatchObject({ tasks: N, passed: N - 1 });
    expect(out.results.map((x) => x.status)).toEqual(
      made.task_ids.map((_, i) => (i === 7 ? "failed" : "accepted")),
    );
    const passing = out.results.filter((x) => x.status === "accepted");
    const perTask = countTokens(JSON.stringify(passing)) / passing.length;
    expect(perTask).toBeLessThanOrEqual(60);
    expect(
      git(env.repo, "status", "--porcelain")
        .trim()
        .split("\n")
        .map((l) => l.trim())
        .sort(),
    ).toEqual(
      Array.from({ length: N }, (_, i) => i)
        .filter((i) => i !== 7)
        .map((i) => `M src/p${i}.ts`),
    );

    const listed = await env.server.call("list_tasks", { template: made.id });
    const tasks = (listed.structuredContent as { tasks: { id: string; status: string }[] }).tasks;
    expect(tasks.map((t) => t.id)).toEqual(made.task_ids);
    expect(tasks.filter((t) => t.status === "failed").map((t) => t.id)).toEqual(["docs/08-document-p7"]);
  }, 180_000);
});
