import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import { storedTaskSchema } from "../../../src/core/mini-task.js";
import { TaskStore } from "../../../src/store/tasks.js";
import { resolveWorkspace, type Workspace } from "../../../src/store/workspace.js";
import { storedTask } from "../core/fixtures.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const WORKER = fileURLToPath(new URL("./fixtures/allocate-worker.ts", import.meta.url));

let root: string;
let ws: Workspace;
let store: TaskStore;

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "tasks-")));
  ws = await resolveWorkspace({ flag: root, env: {} });
  store = new TaskStore(ws);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** A stored task with the given number in project p. */
function taskNo(n: number, over: Parameters<typeof storedTask>[0] = {}) {
  const id = `p/${String(n).padStart(2, "0")}-t${n}`;
  return storedTask({ id, number: n, slug: `t${n}`, ...over }, { project: "p" });
}

describe("TaskStore.allocate", () => {
  it("numbers tasks from 1 with two-digit ids, then three", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await store.allocate("proj", "slug")).id);
    expect(ids[0]).toBe("proj/01-slug");
    expect(ids[9]).toBe("proj/10-slug");
    const more = await store.allocate("proj", "later");
    expect(more).toEqual({ number: 11, id: "proj/11-later" });
    await mkdir(join(ws.dir, "other"), { recursive: true });
    expect((await store.allocate("other", "x")).id).toBe("other/01-x");
  });

  it("continues after task files that have no reservation", async () => {
    await store.write(taskNo(7));
    expect((await store.allocate("p", "x")).number).toBe(8);
  });

  it("gives 50 parallel callers in one process 50 distinct numbers 1..50", async () => {
    const got = await Promise.all(range(50).map(() => store.allocate("proj", "slug")));
    expect(got.map((g) => g.number).sort((a, b) => a - b)).toEqual(range(50));
    expect(new Set(got.map((g) => g.id)).size).toBe(50);
  });

  it("gives two processes allocating at once 60 distinct numbers", async () => {
    const start = () =>
      spawn(process.execPath, ["--import", "tsx", WORKER, root, "proj", "30"], {
        cwd: REPO,
        stdio: ["pipe", "pipe", "pipe"],
      });
    const children = [start(), start()];
    const outputs = children.map((c) => collect(c));
    // Barrier: both have loaded and are waiting before either allocates.
    await Promise.all(outputs.map((o) => o.ready));
    for (const c of children) c.stdin.write("go\n");
    const results = await Promise.all(outputs.map((o) => o.done));
    const numbers = results.flatMap((out) => JSON.parse(out.trim().split("\n").pop()!) as number[]);
    expect(numbers).toHaveLength(60);
    expect(numbers.sort((a, b) => a - b)).toEqual(range(60));
    expect((await readdir(join(ws.dir, "proj", ".seq"))).length).toBe(60);
  });
});

function collect(child: ChildProcessWithoutNullStreams): { ready: Promise<void>; done: Promise<string> } {
  let out = "";
  let err = "";
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    if (out.startsWith("ready\n")) onReady();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const done = once(child, "close").then(([code]) => {
    if (code !== 0) throw new Error(`worker exited ${code}: ${err}`);
    return out;
  });
  // A worker that dies before "ready" must fail the test, not hang it.
  return { ready: Promise.race([ready, done.then(() => {})]), done };
}

describe("TaskStore files", () => {
  it("writes and reads back a task, with its markdown beside it", async () => {
    const task = taskNo(3);
    await store.write(task, "# md\n");
    expect(await store.get("p/03-t3")).toEqual(task);
    const dir = join(ws.dir, "p");
    expect(storedTaskSchema.parse(JSON.parse(await readFile(join(dir, "03-t3.json"), "utf8")))).toEqual(task);
    expect(await readFile(join(dir, "03-t3.md"), "utf8")).toBe("# md\n");
    expect((await readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    expect(await store.exists("p/03-t3")).toBe(true);
    expect(await store.exists("p/04-t4")).toBe(false);
  });

  it("says which task_id is missing", async () => {
    const err = await store.get("p/09-nope").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).field).toBe("task_id");
    expect((err as Error).message).toContain('task_id "p/09-nope" does not exist');
  });

  it("refuses a malformed task_id with a UserError", async () => {
    for (const id of ["../etc/passwd", "p/x", "p/01-x/../../y"]) {
      const err = await store.get(id).catch((e: unknown) => e);
      expect(err, id).toBeInstanceOf(UserError);
      expect((err as Error).message).toContain(`task_id "${id}" is not a task id`);
    }
  });

  it("lists tasks in order; a damaged file becomes a warning and the others still come back", async () => {
    await store.write(taskNo(1));
    await store.write(taskNo(3, { status: "passed" }));
    await writeFile(join(ws.dir, "p", "02-broken.json"), '{"id": "p/02-broken", ');
    await writeFile(join(ws.dir, "p", "04-wrong.json"), '{"id": "p/04-wrong"}');
    await writeFile(join(ws.dir, "p", "notes.json"), "not a task");
    const { tasks, warnings } = await store.list();
    expect(tasks.map((t) => t.id)).toEqual(["p/01-t1", "p/03-t3"]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain("02-broken.json is damaged");
    expect(warnings[1]).toContain("04-wrong.json is damaged");
    expect((await store.list({ status: "passed" })).tasks.map((t) => t.id)).toEqual(["p/03-t3"]);
    expect((await store.list({ project: "nope" })).tasks).toEqual([]);
  });

  it("reports a damaged file as a UserError from get, naming the file", async () => {
    await mkdir(join(ws.dir, "p"), { recursive: true });
    await writeFile(join(ws.dir, "p", "02-broken.json"), "{");
    const err = await store.get("p/02-broken").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain("02-broken.json is damaged");
  });

  it("lists nothing when the tasks directory does not exist yet", async () => {
    expect(await store.list()).toEqual({ tasks: [], warnings: [] });
    expect(await store.projects()).toEqual([]);
  });
});

describe("TaskStore.update", () => {
  it("serializes 20 concurrent updates without losing any", async () => {
    await store.write(taskNo(1));
    const now = new Date("2030-01-01T00:00:00.000Z");
    await Promise.all(
      range(20).map((i) =>
        store.update(
          "p/01-t1",
          (t) => {
            t.lint.push({ level: "warning", field: "x", message: `w${i}` });
            return t;
          },
          now,
        ),
      ),
    );
    const task = await store.get("p/01-t1");
    expect(task.lint.map((l) => l.message).sort()).toEqual(
      range(20)
        .map((i) => `w${i}`)
        .sort(),
    );
    expect(task.updated_at).toBe(now.toISOString());
  });

  it("keeps serving updates after one fails", async () => {
    await store.write(taskNo(1));
    const failing = store.update("p/01-t1", () => {
      throw new Error("boom");
    });
    const next = store.update("p/01-t1", (t) => ({ ...t, status: "running" }));
    await expect(failing).rejects.toThrow("boom");
    expect((await next).status).toBe("running");
    expect((await store.get("p/01-t1")).status).toBe("running");
  });
});
