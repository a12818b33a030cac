/**
 * The client goes away mid-dispatch (stdin closed, or stdout broken: EPIPE) while a validation
 * command runs: the server cancels, kills the command's process group, records the attempt and
 * exits, leaving the ledger, the task file and the worktrees consistent.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeLlm, startFakeLlm } from "../fakes/llm-server.js";
import { byTitle, makeDispatchRepo } from "./dispatch-helpers.js";
import { alive, ledgerLines, RawServer, taskFile, worktreeLeftovers } from "./faults-helpers.js";
import { editSubtract, finish, MATH, spec } from "./fixtures.js";
import { git, removeDir, tempDir, waitFor } from "./harness.js";

let fake: FakeLlm;
let repo: string;
let scratch: string;
let server: RawServer | undefined;
let pgid: number | undefined;

beforeEach(async () => {
  fake = await startFakeLlm();
  fake.setHandler(byTitle({ "Slow check": [editSubtract, finish] }));
  repo = makeDispatchRepo(fake, { "src/math.ts": MATH });
  scratch = tempDir("delegate-faults-");
});

afterEach(async () => {
  server?.kill();
  server = undefined;
  if (pgid !== undefined && alive(pgid, true)) process.kill(-pgid, "SIGKILL");
  pgid = undefined;
  await fake.close();
  removeDir(repo);
  removeDir(scratch);
});

/** A dispatch whose server-side validation is a 30 s sleep; resolves once that command runs. */
async function dispatchIntoSlowValidation(): Promise<{ id: string; group: number }> {
  // debug: the shutdown line names what triggered it.
  server = new RawServer(repo, { env: { FAKE_KEY: "test-key", DELEGATE_LOG: "debug" } });
  await server.initialize();
  const created = await server.call(
    "create_mini_task",
    spec("Slow check", {
      // $$ is the shell: the leader of the command's own process group.
      validation: [{ run: `echo $$ > ${scratch}/pid; sleep 30`, timeout_s: 120 }],
    }),
  );
  expect(created.isError, JSON.stringify(created)).toBeFalsy();
  const id = (created.structuredContent as { id: string }).id;
  void server.call("dispatch_to_small_model", { task_id: id }).catch(() => {});
  const group = await waitFor("the validation command to start", () => {
    const f = join(scratch, "pid");
    const text = existsSync(f) ? readFileSync(f, "utf8").trim() : "";
    return text ? Number(text) : undefined;
  });
  pgid = group;
  expect(alive(group, true)).toBe(true);
  return { id, group };
}

function expectConsistentAfter(id: string, group: number) {
  // The validation command and everything in its group are gone.
  expect(alive(group, true)).toBe(false);
  // Both model calls billed, every line whole.
  const lines = ledgerLines(repo);
  expect(lines.filter((l) => l.task === id)).toHaveLength(2);
  expect(readFileSync(join(repo, "mini-projects/ledger.jsonl"), "utf8").endsWith("\n")).toBe(true);
  // The task file is whole JSON and the attempt is recorded as cancelled.
  const task = taskFile(repo, id);
  expect(task.status).toBe("cancelled");
  expect(task.attempts.map((a) => a.status)).toEqual(["cancelled"]);
  // No run marker left behind for a start-up repair to trip over.
  const markers = join(repo, "mini-projects/calc/.running");
  expect(existsSync(markers) ? readdirSync(markers) : []).toEqual([]);
  // No temp files of interrupted atomic writes.
  expect(readdirSync(join(repo, "mini-projects/calc")).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  // The worktree is usable by the next start: nothing locked or prunable, no index.lock.
  expect(worktreeLeftovers(repo)).toEqual([]);
  const wt = task.attempts[0]!.worktree!;
  expect(git(wt, "status", "--porcelain")).toBe("");
  const gitDir = git(wt, "rev-parse", "--absolute-git-dir").trim();
  expect(existsSync(join(gitDir, "index.lock"))).toBe(false);
}

describe("the client goes away mid-dispatch", () => {
  it("stdin closed: the server cancels, kills the validation group, records the attempt and exits 0", async () => {
    const { id, group } = await dispatchIntoSlowValidation();
    server!.child.stdin.end();
    const exit = await server!.waitExit(20_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(server!.stderr).toMatch(/shutting down: stdin closed/);
    expectConsistentAfter(id, group);
  });

  it("stdout EPIPE: the next reply hits the closed pipe; the server cancels, cleans up and exits", async () => {
    const { id, group } = await dispatchIntoSlowValidation();
    // The client's end of our stdout is gone (client killed); stdin stays open.
    server!.child.stdout.destroy();
    server!.send({ id: 999, method: "ping" });
    const exit = await server!.waitExit(20_000);
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(0);
    expectConsistentAfter(id, group);
    expect(server!.stderr).toMatch(/shutting down: stdout: write EPIPE/);
    expect(server!.stderr).not.toMatch(/Unhandled|uncaught/i);
  });
});
