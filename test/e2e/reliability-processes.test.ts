/**
 * Issue 18 items 2 and 3: two real server processes on one repository. The fake LLM holds the
 * first process's model call until the test lets it go, so every step happens in a known order.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type FakeLlm, type FakeReply, startFakeLlm } from "../fakes/llm-server.js";
import { byTitle, makeDispatchRepo } from "./dispatch-helpers.js";
import { ledgerLines, RawServer, taskFile } from "./faults-helpers.js";
import { editSubtract, finish, MATH, spec } from "./fixtures.js";
import { removeDir } from "./harness.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type CallResult = {
  isError?: boolean;
  content: { text: string }[];
  structuredContent?: Record<string, unknown>;
};

/** A fake whose first model call waits for release(); `called` resolves when that call arrives. */
async function heldFake(heldTurn = 0) {
  const fake: FakeLlm = await startFakeLlm();
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let arrived!: () => void;
  const called = new Promise<void>((r) => {
    arrived = r;
  });
  const held = async (): Promise<FakeReply> => {
    arrived();
    await released;
    return editSubtract;
  };
  fake.setHandler(byTitle({ Held: heldTurn === 0 ? [held, finish] : [editSubtract, held, finish] }));
  return { fake, release, called };
}

async function twoServers(fake: FakeLlm) {
  const repo = makeDispatchRepo(fake, { "src/math.ts": MATH });
  const a = new RawServer(repo, { env: { FAKE_KEY: "test-key" } });
  const b = new RawServer(repo, { env: { FAKE_KEY: "test-key" } });
  cleanups.push(
    () => fake.close(),
    () => removeDir(repo),
    () => a.kill(),
    () => b.kill(),
  );
  await Promise.all([a.initialize(), b.initialize()]);
  const created = (await a.call("create_mini_task", spec("Held"))) as CallResult;
  const id = (created.structuredContent as { id: string }).id;
  // b has served a call, so its own start-up repair is behind it: what it repairs later, it
  // repairs because the task was touched.
  await b.call("list_tasks", { project: "calc" });
  return { repo, a, b, id };
}

describe("#18.2 one task dispatched from two processes", () => {
  it("the second dispatch is refused before any model call, naming the process that runs it", {
    timeout: 90_000,
  }, async () => {
    const { fake, release, called } = await heldFake();
    const { repo, a, b, id } = await twoServers(fake);
    const first = a.call("dispatch_to_small_model", { task_id: id }) as Promise<CallResult>;
    await called;

    const second = (await b.call("dispatch_to_small_model", { task_id: id })) as CallResult;
    expect(second.isError).toBe(true);
    expect(second.content[0]!.text).toBe(
      `task_id ${id} is running in process ${a.child.pid}; wait for it or poll get_task.`,
    );
    // The same process asking again is refused too.
    const again = (await a.call("dispatch_to_small_model", { task_id: id })) as CallResult;
    expect(again.content[0]!.text).toBe(
      `task_id ${id} is running in process ${a.child.pid} (this server); wait for it or poll get_task.`,
    );
    expect(fake.requests).toHaveLength(1);

    release();
    const done = await first;
    expect(done.isError).toBeFalsy();
    expect((done.structuredContent as { results: { status: string }[] }).results[0]!.status).toBe("passed");
    const task = taskFile(repo, id);
    expect(task.attempts).toHaveLength(1);
    expect(task.status).toBe("passed");
  });
});

describe("#18.3 a peer's crash is noticed by a server that was already up", () => {
  it("get_task repairs the task its dead owner left running", { timeout: 90_000 }, async () => {
    const { fake, called } = await heldFake();
    const { repo, a, b, id } = await twoServers(fake);
    void a.call("dispatch_to_small_model", { task_id: id }).catch(() => {});
    await called;
    const pid = a.child.pid;
    a.child.kill("SIGKILL");
    await a.waitExit(10_000);
    expect(taskFile(repo, id).status).toBe("running");

    const got = (await b.call("get_task", { task_id: id })) as CallResult;
    const task = got.structuredContent as { status: string; attempts: { status: string; error?: string }[] };
    expect(task.status).toBe("error");
    expect(task.attempts[0]).toMatchObject({
      status: "error",
      error: `interrupted: the server process running it (pid ${pid}) stopped before the attempt finished; dispatch the task again.`,
    });
    expect(taskFile(repo, id).status).toBe("error");
    expect(b.stderr).toMatch(/warn: repair: /);
  });

  it("discard_task repairs it too", { timeout: 90_000 }, async () => {
    const { fake, called } = await heldFake();
    const { repo, a, b, id } = await twoServers(fake);
    void a.call("dispatch_to_small_model", { task_id: id }).catch(() => {});
    await called;
    a.child.kill("SIGKILL");
    await a.waitExit(10_000);

    const discarded = (await b.call("discard_task", { task_id: id })) as CallResult;
    expect(discarded.isError, discarded.content[0]?.text).toBeFalsy();
    expect(taskFile(repo, id).status).toBe("discarded");
    expect(taskFile(repo, id).attempts[0]!.status).toBe("error");
  });

  it("dispatch repairs it too, and runs it as the next attempt", { timeout: 90_000 }, async () => {
    const { fake, release, called } = await heldFake();
    const { repo, a, b, id } = await twoServers(fake);
    void a.call("dispatch_to_small_model", { task_id: id }).catch(() => {});
    await called;
    a.child.kill("SIGKILL");
    await a.waitExit(10_000);
    release();

    const again = (await b.call("dispatch_to_small_model", { task_id: id })) as CallResult;
    expect(again.isError, again.content[0]?.text).toBeFalsy();
    const task = taskFile(repo, id);
    expect(task.attempts.map((x) => x.status)).toEqual(["error", "passed"]);
    expect(task.status).toBe("passed");
  });
});

describe("#18.11 an interrupted attempt's usage agrees with the ledger after recovery", () => {
  it("the repaired attempt carries the tokens its dead process recorded", { timeout: 90_000 }, async () => {
    const { fake, called } = await heldFake(1);
    const { repo, a, b, id } = await twoServers(fake);
    void a.call("dispatch_to_small_model", { task_id: id }).catch(() => {});
    await called;
    a.child.kill("SIGKILL");
    await a.waitExit(10_000);
    const spent = ledgerLines(repo).filter((l) => l.task === id);
    expect(spent).toHaveLength(1);

    const got = (await b.call("get_task", { task_id: id })) as CallResult;
    const attempt = (
      got.structuredContent as { attempts: { status: string; usage: Record<string, unknown> }[] }
    ).attempts[0]!;
    expect(attempt.status).toBe("error");
    expect(attempt.usage).toMatchObject({
      input_tokens: spent[0]!.input_tokens,
      output_tokens: spent[0]!.output_tokens,
      cost_usd: (spent[0] as { cost_usd?: number | null }).cost_usd,
    });
    expect(attempt.usage.input_tokens).toBeGreaterThan(0);
  });
});
