import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredTask } from "../../../src/core/mini-task.js";
import { TaskStore } from "../../../src/store/tasks.js";
import { resolveWorkspace } from "../../../src/store/workspace.js";
import { RESULT_BUDGET_BYTES } from "../../../src/tools/budget.js";
import type { ToolContext } from "../../../src/tools/define.js";
import { listTasksTool } from "../../../src/tools/list-tasks.js";
import { storedTask } from "../core/fixtures.js";

const TASKS = 3_000;
let root: string;
let store: TaskStore;

function task(project: string, n: number): StoredTask {
  const slug = `task-${n}`;
  return storedTask(
    {
      id: `${project}/${String(n).padStart(2, "0")}-${slug}`,
      number: n,
      slug,
      status: n % 3 === 0 ? "passed" : "ready",
    },
    { project, title: `Task ${n} with a title of ordinary length for a mini-task` },
  );
}

/** Task files written directly: the fixture, not the thing under test. */
async function writeTasks(project: string, from: number, to: number): Promise<void> {
  await mkdir(join(root, "mini-projects", project), { recursive: true });
  for (let n = from; n <= to; n++) {
    const t = task(project, n);
    await writeFile(
      join(root, "mini-projects", project, `${String(n).padStart(2, "0")}-${t.slug}.json`),
      JSON.stringify(t),
    );
  }
}

beforeAll(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "list-tasks-")));
  store = new TaskStore(await resolveWorkspace({ flag: root, env: {} }));
  await writeTasks("big", 1, TASKS - 10);
  await writeTasks("small", 1, 10);
}, 120_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const ctx = { tasks: async () => store } as unknown as ToolContext;

async function pageThrough(args: Record<string, unknown>, onPage?: (n: number) => Promise<void>) {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  let count = -1;
  do {
    const r = await listTasksTool.handle(
      listTasksTool.input.parse({ ...args, ...(cursor ? { cursor } : {}) }),
      ctx,
    );
    expect(Buffer.byteLength(JSON.stringify(r.structured))).toBeLessThanOrEqual(RESULT_BUDGET_BYTES);
    const s = r.structured as { count?: number; tasks: { id: string }[]; next_cursor?: string };
    if (pages === 0) count = s.count ?? -1;
    ids.push(...s.tasks.map((t) => t.id));
    cursor = s.next_cursor;
    pages++;
    await onPage?.(pages);
  } while (cursor);
  return { ids, pages, count };
}

describe("list_tasks paging", () => {
  it("returns each of 3,000 tasks exactly once, in order, across pages", async () => {
    const { ids, pages, count } = await pageThrough({});
    expect(count).toBe(TASKS);
    expect(ids).toHaveLength(TASKS);
    expect(new Set(ids).size).toBe(TASKS);
    expect(pages).toBeGreaterThan(1);
    // Numeric order within a project: 100 after 99, not after 10.
    const big = ids.filter((id) => id.startsWith("big/"));
    expect(big.indexOf("big/100-task-100")).toBe(big.indexOf("big/99-task-99") + 1);
    expect(ids.slice(-10)).toEqual(Array.from({ length: 10 }, (_, i) => task("small", i + 1).id));
  }, 120_000);

  it("pages a status filter: each matching task once, the count of all pages", async () => {
    const { ids, count } = await pageThrough({ status: "passed" });
    const expected = Math.floor((TASKS - 10) / 3) + 3;
    expect(count).toBe(expected);
    expect(ids).toHaveLength(expected);
    expect(new Set(ids).size).toBe(expected);
  }, 120_000);

  it("keeps every task once when tasks are created while paging", async () => {
    const { ids } = await pageThrough({ project: "big" }, async (page) => {
      if (page === 1) await writeTasks("big", TASKS - 9, TASKS - 8);
    });
    expect(ids).toEqual(Array.from({ length: TASKS - 8 }, (_, i) => task("big", i + 1).id));
  }, 120_000);

  it("refuses a cursor that is not a task id, naming the field", async () => {
    await expect(
      listTasksTool.handle(listTasksTool.input.parse({ cursor: "page 2" }), ctx),
    ).rejects.toMatchObject({ field: "cursor" });
  });
});
