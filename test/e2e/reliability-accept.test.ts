/**
 * #18.4: accept_task killed midway (SIGKILL at a named point of the apply, set by
 * DELEGATE_TEST_CRASH_AT) is finished or rolled back by the next start, and a retry completes it:
 * the files, one commit, status accepted, no worktree or branch left.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeLlm, startFakeLlm } from "../fakes/llm-server.js";
import { byTitle, makeDispatchRepo } from "./dispatch-helpers.js";
import { RawServer, taskFile, worktreeLeftovers } from "./faults-helpers.js";
import { editSubtract, finish, MATH, SUBTRACT, spec } from "./fixtures.js";
import { git, removeDir, startServer, textOf } from "./harness.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A repository with task calc/01-crashes dispatched and passed; the server that ran it closed. */
async function passedTask(): Promise<{ repo: string; id: string }> {
  const fake: FakeLlm = await startFakeLlm();
  fake.setHandler(byTitle({ Crashes: [editSubtract, finish] }));
  const repo = makeDispatchRepo(fake, { "src/math.ts": MATH });
  cleanups.push(
    () => fake.close(),
    () => removeDir(repo),
  );
  const server = await startServer({ root: repo, env: { FAKE_KEY: "test-key" } });
  try {
    const created = await server.call("create_mini_task", spec("Crashes"));
    expect(created.isError, textOf(created)).toBeFalsy();
    const id = (created.structuredContent as { id: string }).id;
    const d = await server.call("dispatch_to_small_model", { task_id: id });
    expect(d.isError, textOf(d)).toBeFalsy();
    expect((d.structuredContent as { results: { status: string }[] }).results[0]!.status).toBe("passed");
    return { repo, id };
  } finally {
    await server.close();
  }
}

/** accept_task in a server that SIGKILLs itself at `point`. */
async function acceptKilledAt(repo: string, id: string, point: string, commit: boolean): Promise<void> {
  const doomed = new RawServer(repo, { env: { FAKE_KEY: "test-key", DELEGATE_TEST_CRASH_AT: point } });
  cleanups.push(() => doomed.kill());
  await doomed.initialize();
  void doomed.call("accept_task", { task_id: id, commit }).catch(() => {});
  expect((await doomed.waitExit(30_000)).signal, doomed.stderr).toBe("SIGKILL");
}

const intentFile = (repo: string) => join(repo, "mini-projects/calc/.accepting/01-crashes.json");
const trailerCommits = (repo: string, id: string) =>
  git(repo, "log", "--fixed-strings", `--grep=delegate-mcp task ${id}, attempt 1`, "--format=%H")
    .split("\n")
    .filter(Boolean);

/** Accepted, the change in the files (and in exactly one commit when asked), nothing left behind. */
function expectAccepted(repo: string, id: string, commit: boolean): void {
  expect(taskFile(repo, id).status).toBe("accepted");
  expect(readFileSync(join(repo, "src/math.ts"), "utf8")).toContain(SUBTRACT);
  expect(trailerCommits(repo, id)).toHaveLength(commit ? 1 : 0);
  expect(git(repo, "status", "--porcelain")).toBe(commit ? "" : " M src/math.ts\n");
  expect(git(repo, "worktree", "list", "--porcelain").match(/^worktree /gm)).toHaveLength(1);
  expect(worktreeLeftovers(repo)).toEqual([]);
  expect(git(repo, "branch", "--list", "delegate/*")).toBe("");
  expect(existsSync(intentFile(repo))).toBe(false);
}

describe("#18.4 accept_task killed midway", { timeout: 180_000 }, () => {
  it.each([
    // Intent recorded, nothing written: the start rolls back (a no-op), the task stays passed.
    ["accept-after-intent", "passed"],
    // Files written, no commit: the start puts the files back; the task stays passed.
    ["accept-after-files", "passed"],
    // Commit made, status still passed: the start recognises its commit and finishes.
    ["accept-after-commit", "accepted"],
    // Status accepted, worktree not yet removed: the start removes it.
    ["accept-after-status", "accepted"],
  ])(
    "with commit, killed at %s: the next start leaves the task %s, and accept_task completes it",
    async (point, afterStart) => {
      const { repo, id } = await passedTask();
      await acceptKilledAt(repo, id, point, true);
      expect(existsSync(intentFile(repo))).toBe(true);
      expect(taskFile(repo, id).status).toBe(point === "accept-after-status" ? "accepted" : "passed");

      const next = await startServer({ root: repo, env: { FAKE_KEY: "test-key" } });
      cleanups.push(() => next.close());
      const got = await next.call("get_task", { task_id: id });
      expect(got.isError, textOf(got)).toBeFalsy();
      expect((got.structuredContent as { status: string }).status).toBe(afterStart);
      expect(existsSync(intentFile(repo))).toBe(false);
      if (afterStart === "passed") {
        // Rolled back whole: the working tree and HEAD as before the accept.
        expect(git(repo, "status", "--porcelain")).toBe("");
        expect(trailerCommits(repo, id)).toHaveLength(0);
      }

      const accepted = await next.call("accept_task", { task_id: id, commit: true });
      expect(accepted.isError, textOf(accepted)).toBeFalsy();
      expect((accepted.structuredContent as { status: string }).status).toBe("accepted");
      expectAccepted(repo, id, true);
    },
  );

  it("without commit, killed after the files are written: the next start finishes the accept", async () => {
    const { repo, id } = await passedTask();
    await acceptKilledAt(repo, id, "accept-after-files", false);
    expect(taskFile(repo, id).status).toBe("passed");

    const next = await startServer({ root: repo, env: { FAKE_KEY: "test-key" } });
    cleanups.push(() => next.close());
    const got = await next.call("get_task", { task_id: id });
    expect((got.structuredContent as { status: string }).status).toBe("accepted");
    expectAccepted(repo, id, false);
  });

  it("a file changed by someone else after the kill is never overwritten: accept_task says which", async () => {
    const { repo, id } = await passedTask();
    await acceptKilledAt(repo, id, "accept-after-files", true);
    writeFileSync(join(repo, "src/math.ts"), "// the user's own edit\n");

    const next = await startServer({ root: repo, env: { FAKE_KEY: "test-key" } });
    cleanups.push(() => next.close());
    const accepted = await next.call("accept_task", { task_id: id, commit: true });
    expect(accepted.isError).toBe(true);
    expect(textOf(accepted)).toMatch(/interrupted midway and src\/math\.ts changed since/);
    expect(readFileSync(join(repo, "src/math.ts"), "utf8")).toBe("// the user's own edit\n");
    expect(taskFile(repo, id).status).toBe("passed");
    expect(existsSync(intentFile(repo))).toBe(true);
  });
});
