/**
 * kill -9 of the server: mid-dispatch (the next start repairs the task and the worktrees) and
 * mid-append (the next start reads every complete record; a torn tail never merges with a new one).
 */
import { appendFileSync, existsSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeLlm, startFakeLlm } from "../fakes/llm-server.js";
import { byTitle, makeDispatchRepo } from "./dispatch-helpers.js";
import { alive, ledgerLines, RawServer, taskFile, worktreeLeftovers } from "./faults-helpers.js";
import { editSubtract, finish, MATH, spec } from "./fixtures.js";
import {
  git,
  makeRepo,
  type RunningServer,
  removeDir,
  startServer,
  tempDir,
  textOf,
  waitFor,
} from "./harness.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("kill -9 mid-dispatch", () => {
  it("the next start marks the task interrupted, repairs worktree leftovers, and the task runs again", async () => {
    const fake: FakeLlm = await startFakeLlm();
    fake.setHandler(byTitle({ Crashes: [editSubtract, finish] }));
    const repo = makeDispatchRepo(fake, { "src/math.ts": MATH });
    const scratch = tempDir("delegate-faults-");
    let group: number | undefined;
    cleanups.push(
      () => fake.close(),
      () => removeDir(repo),
      () => removeDir(scratch),
      // kill -9 gives the server no chance to stop its validation command: it outlives it.
      () => {
        if (group !== undefined && alive(group, true)) process.kill(-group, "SIGKILL");
      },
    );

    const first = new RawServer(repo, { env: { FAKE_KEY: "test-key" } });
    cleanups.push(() => first.kill());
    await first.initialize();
    const created = await first.call(
      "create_mini_task",
      spec("Crashes", {
        validation: [
          {
            run: `if [ -f ${scratch}/go ]; then grep -q 'export function subtract' src/math.ts; else echo $$ > ${scratch}/pid; sleep 30; fi`,
          },
        ],
      }),
    );
    const id = (created.structuredContent as { id: string }).id;
    void first.call("dispatch_to_small_model", { task_id: id }).catch(() => {});
    group = await waitFor("the validation command to start", () => {
      const f = join(scratch, "pid");
      const text = existsSync(f) ? readFileSync(f, "utf8").trim() : "";
      return text ? Number(text) : undefined;
    });
    const pid = first.child.pid!;
    first.child.kill("SIGKILL");
    expect((await first.waitExit(10_000)).signal).toBe("SIGKILL");

    // What the crash left: the task still says running; the ledger is whole.
    const left = taskFile(repo, id);
    expect(left.status).toBe("running");
    expect(left.attempts[0]!.status).toBe("running");
    expect(ledgerLines(repo).filter((l) => l.task === id)).toHaveLength(2);

    // More crash debris: a stale index.lock in the attempt's worktree (git killed mid-command a while
    // ago) and the record of a delegate worktree whose directory is gone.
    const wt = left.attempts[0]!.worktree!;
    const lock = join(git(wt, "rev-parse", "--absolute-git-dir").trim(), "index.lock");
    writeFileSync(lock, "");
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(lock, hourAgo, hourAgo);
    const common = git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir").trim();
    const ghost = join(common, "delegate-worktrees", "calc", "99-ghost-a1");
    git(repo, "worktree", "add", "-q", "-b", "delegate/calc/99-ghost", ghost);
    removeDir(ghost);
    expect(worktreeLeftovers(repo)).toEqual(["prunable gitdir file points to non-existent location"]);

    // The next start repairs on its first tool call.
    const second: RunningServer = await startServer({ root: repo, env: { FAKE_KEY: "test-key" } });
    cleanups.push(() => second.close());
    const got = await second.call("get_task", { task_id: id });
    expect(got.isError, textOf(got)).toBeFalsy();
    const task = got.structuredContent as { status: string; attempts: { status: string; error?: string }[] };
    expect(task.status).toBe("error");
    expect(task.attempts[0]!.status).toBe("error");
    expect(task.attempts[0]!.error).toMatch(
      new RegExp(
        `^interrupted: the server process running it \\(pid ${pid}\\) stopped before the attempt finished`,
      ),
    );
    expect(worktreeLeftovers(repo)).toEqual([]);
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(join(repo, "mini-projects/calc/.running/01-crashes.json"))).toBe(false);

    // And the task can be dispatched again.
    writeFileSync(join(scratch, "go"), "");
    const again = await second.call("dispatch_to_small_model", { task_id: id });
    expect(again.isError, textOf(again)).toBeFalsy();
    expect(
      (again.structuredContent as { results: { status: string; attempt: number }[] }).results[0],
    ).toMatchObject({ status: "passed", attempt: 2 });
  });
});

describe("kill -9 mid-append", () => {
  it("keeps every acknowledged record, leaves no torn line, and a later torn tail never glues onto a new record", async () => {
    const repo = makeRepo({ "README.md": "# x\n" });
    cleanups.push(() => removeDir(repo));
    const server = new RawServer(repo);
    cleanups.push(() => server.kill());
    await server.initialize();

    const record = (n: number) => ({
      project: "crash",
      phase: "planning",
      model: "haiku",
      input_tokens: 1000,
      output_tokens: 10,
      note: `n=${n}`,
    });
    const acked = new Set<number>();
    let sent = 0;
    let killed = false;
    // A window of 50 requests in flight, refilled as answers come, so appends are under way when the kill lands.
    const send = () => {
      const n = sent++;
      void server.call("log_tokens", record(n)).then(
        (r) => {
          if ((r.structuredContent as { recorded?: boolean } | undefined)?.recorded) acked.add(n);
          if (!killed) send();
        },
        () => {},
      );
    };
    for (let i = 0; i < 50; i++) send();
    await waitFor("200 acknowledged appends", () => (acked.size >= 200 ? true : undefined));
    const ackedAtKill = new Set(acked);
    server.child.kill("SIGKILL");
    killed = true;
    await server.waitExit(10_000);

    const path = join(repo, "mini-projects/ledger.jsonl");
    const text = readFileSync(path, "utf8");
    // Killed between appends, never inside one: whole lines only, and every acknowledged record is there.
    expect(text.endsWith("\n")).toBe(true);
    const lines = ledgerLines(repo);
    expect(lines.length).toBeGreaterThanOrEqual(ackedAtKill.size);
    expect(lines.length).toBeLessThan(sent);
    const notes = new Set(lines.map((l) => l.note));
    for (const n of ackedAtKill) expect(notes.has(`n=${n}`)).toBe(true);
    expect(notes.size).toBe(lines.length);

    // A crash inside a write (power loss, full disk) can leave half a record with no newline.
    const torn = '{"ts":"2026-01-01T00:00:00.000Z","project":"crash","phase":"plann';
    appendFileSync(path, torn);
    const tornLine = lines.length + 1;

    const next = await startServer({ root: repo });
    cleanups.push(() => next.close());
    const logged = await next.call("log_tokens", { ...record(-1), note: "after the crash" });
    expect(logged.isError, textOf(logged)).toBeFalsy();
    const report = await next.call("savings_report", { project: "crash" });
    expect(report.isError, textOf(report)).toBeFalsy();
    const r = report.structuredContent as { warnings: string[]; totals: { input_tokens: number } };
    expect(r.warnings).toContain(`ledger.jsonl line ${tornLine} is not valid JSON; skipped.`);
    // Every complete record counts, the new one too.
    expect(r.totals.input_tokens).toBe((lines.length + 1) * 1000);

    const after = readFileSync(path, "utf8").split("\n");
    expect(after[tornLine - 1]).toBe(torn);
    expect(JSON.parse(after[tornLine]!)).toMatchObject({ project: "crash", note: "after the crash" });
    expect(after[tornLine + 1]).toBe("");
  });
});
