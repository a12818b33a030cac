/**
 * Two server processes on one workspace, creating tasks and dispatching at once: no duplicate task
 * numbers, no lost ledger lines, no shared worktree, and neither one's start-up repair touches the
 * other's running tasks.
 */
import { afterEach, expect, it } from "vitest";
import { type FakeLlm, type FakeRequest, startFakeLlm, toolUse } from "../fakes/llm-server.js";
import { byTitle, makeDispatchRepo, type TaskScript, taskTitleOf } from "./dispatch-helpers.js";
import { ledgerLines, taskFile } from "./faults-helpers.js";
import { type RunningServer, removeDir, sleep, startServer, textOf, waitFor } from "./harness.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const NAMES = ["a1", "a2", "a3", "a4", "a5", "a6", "b1", "b2", "b3"];

function specFor(name: string) {
  return {
    project: "twin",
    title: `Make ${name}`,
    objective: `Create src/${name}.ts exporting the constant ${name}.`,
    files_to_read: [],
    files_to_modify: [{ path: `src/${name}.ts`, action: "create" }],
    steps: [`Create src/${name}.ts containing: export const ${name} = 1;`],
    acceptance_criteria: [`src/${name}.ts exists`],
    validation: [{ run: `grep -q 'export const ${name} = 1' src/${name}.ts` }],
  };
}

async function create(server: RunningServer, name: string): Promise<string> {
  const r = await server.call("create_mini_task", specFor(name));
  expect(r.isError, textOf(r)).toBeFalsy();
  return (r.structuredContent as { id: string }).id;
}

async function dispatch(
  server: RunningServer,
  ids: string[],
): Promise<{ task_id: string; status: string; report?: string }[]> {
  const r = await server.call("dispatch_to_small_model", { task_ids: ids });
  expect(r.isError, textOf(r)).toBeFalsy();
  return (r.structuredContent as { results: { task_id: string; status: string; report?: string }[] }).results;
}

async function logTokens(server: RunningServer, who: string, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const r = await server.call("log_tokens", {
        project: "twin",
        phase: "planning",
        model: "sonnet",
        input_tokens: 100,
        output_tokens: 1,
        note: `${who}-${i}`,
      });
      expect(r.isError, textOf(r)).toBeFalsy();
    }),
  );
}

it("two servers on one workspace: distinct numbers, every ledger line, distinct worktrees, all passed", async () => {
  const fake: FakeLlm = await startFakeLlm();
  const scripts: Record<string, TaskScript> = {};
  for (const name of NAMES) {
    scripts[`Make ${name}`] = [
      toolUse("write_file", { path: `src/${name}.ts`, content: `export const ${name} = 1;\n` }),
      toolUse("finish", { status: "complete", summary: `Created src/${name}.ts.` }),
    ];
  }
  const route = byTitle(scripts);
  // Slow answers keep both servers' dispatches in flight together.
  fake.setHandler(async (req: FakeRequest) => {
    await sleep(150);
    return route(req);
  });
  const repo = makeDispatchRepo(fake, { "README.md": "# twin\n" });
  cleanups.push(
    () => fake.close(),
    () => removeDir(repo),
  );
  const a = await startServer({ root: repo, env: { FAKE_KEY: "test-key" } });
  cleanups.push(() => a.close());
  const b = await startServer({ root: repo, env: { FAKE_KEY: "test-key" } });
  cleanups.push(() => b.close());

  const first = await Promise.all(["a1", "a2", "a3"].map((n) => create(a, n)));
  const firstRun = dispatch(a, first);
  // B's first tool call (and so its start-up repair) happens while A's tasks are running.
  await waitFor("A's dispatch to reach the model", () =>
    fake.requests.some((r) => taskTitleOf(r) === "Make a1") ? true : undefined,
  );
  const [fromB, fromA] = await Promise.all([
    Promise.all(["b1", "b2", "b3"].map((n) => create(b, n))),
    Promise.all(["a4", "a5", "a6"].map((n) => create(a, n))),
  ]);
  const [r1, r2, r3] = await Promise.all([
    firstRun,
    dispatch(b, fromB),
    dispatch(a, fromA),
    logTokens(a, "a", 25),
    logTokens(b, "b", 25),
  ]);

  // No duplicate task numbers across the two processes.
  const ids = [...first, ...fromB, ...fromA];
  const numbers = ids.map((id) => Number(/\/(\d+)-/.exec(id)![1]));
  expect(new Set(numbers).size).toBe(9);
  expect([...numbers].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);

  // Every task passed: B's start-up repair did not take A's running tasks for interrupted ones.
  for (const r of [...r1, ...r2!, ...r3!])
    expect(r, `${r.task_id}: ${r.report}`).toMatchObject({ status: "passed" });

  // No lost ledger line: one per model call plus one per log_tokens, every line whole.
  const lines = ledgerLines(repo);
  expect(fake.requests).toHaveLength(18);
  expect(lines).toHaveLength(18 + 50);
  for (const id of ids)
    expect(
      lines.filter((l) => l.task === id),
      id,
    ).toHaveLength(2);
  expect(new Set(lines.filter((l) => l.note).map((l) => l.note)).size).toBe(50);

  // No shared worktree: every attempt had its own path and branch.
  const stored = ids.map((id) => taskFile(repo, id));
  // Nothing was marked interrupted on the way: no attempt carries an error.
  for (const t of stored) expect(t.status).toBe("passed");
  expect(stored.flatMap((t) => t.attempts.map((x) => x.error)).filter(Boolean)).toEqual([]);
  const attempts = stored.map((t) => t.attempts);
  expect(attempts.every((list) => list.length === 1)).toBe(true);
  expect(new Set(attempts.map((list) => list[0]!.worktree)).size).toBe(9);
  expect(new Set(attempts.map((list) => list[0]!.branch)).size).toBe(9);
});
