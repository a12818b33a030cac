/**
 * git's children start from a worker thread (src/executor/child-thread.ts), so their forks do not
 * hold up the server's main thread: none of them is spawned there, a pending child keeps the
 * process alive, and a worker that dies fails what it had and is started again.
 */
import { ChildProcess, execFileSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onChildStart, runChild, stopChildThread } from "../../../src/executor/child-thread.js";
import { git } from "../../../src/executor/git.js";
import { gitSequence } from "../../../src/executor/git-sequence.js";
import { committedRepo, gitSandbox } from "./git-sandbox.js";

let scratch: string;
let repo: string;
let removeSandbox: () => void;

beforeAll(() => {
  ({ dir: scratch, remove: removeSandbox } = gitSandbox("delegate-child-thread-test-"));
  repo = committedRepo(path.join(scratch, "repo"), { "a.txt": "one\n" });
});

afterAll(() => removeSandbox());

/** ChildProcess's own start method (untyped in @types/node): every spawn on this thread goes through it. */
const proto = ChildProcess.prototype as unknown as {
  spawn: (this: ChildProcess, options: { file: string }) => unknown;
};

const request = (args: string[], extra: Partial<Parameters<typeof runChild>[0]> = {}) =>
  runChild({
    file: "sh",
    args,
    cwd: scratch,
    env: process.env,
    timeoutMs: 30_000,
    maxStdoutBytes: 1 << 20,
    maxStderrBytes: 1 << 20,
    ...extra,
  });

describe("child-thread", () => {
  it("starts git's children off the main thread: the main thread spawns none of them", async () => {
    const onMain: string[] = [];
    const requested: string[] = [];
    const spawn = proto.spawn;
    proto.spawn = function (options) {
      onMain.push(options.file);
      return spawn.call(this, options);
    };
    const listener = (file: string) => requested.push(file);
    onChildStart.add(listener);
    try {
      await git(repo, ["add", "--all"]);
      await git(repo, ["diff", "--name-only", "HEAD"]);
      await gitSequence(repo, [{ args: ["add", "--all"] }, { args: ["status", "--porcelain"] }]);
    } finally {
      proto.spawn = spawn;
      onChildStart.delete(listener);
    }
    expect(requested).toEqual(["git", "git", "/bin/sh"]);
    expect(onMain).toEqual([]);
  });

  it("answers with the exit code, both outputs within their bounds, and what was written to stdin", async () => {
    const ran = await request(["-c", "cat; printf 'err' >&2; exit 3"], {
      input: "abcdef",
      maxStdoutBytes: 4,
    });
    expect(ran).toMatchObject({ code: 3, signal: null, stdoutBytes: 6, timedOut: false });
    expect(ran.stdout.toString()).toBe("abcd");
    expect(ran.stderr.toString()).toBe("err");
    expect(Buffer.isBuffer(ran.stdout)).toBe(true);
  });

  it("says when the program cannot be started", async () => {
    const ran = await runChild({
      file: path.join(scratch, "no-such-program"),
      args: [],
      cwd: scratch,
      env: process.env,
      timeoutMs: 30_000,
      maxStdoutBytes: 1024,
      maxStderrBytes: 1024,
    });
    expect(ran.error?.code).toBe("ENOENT");
  });

  it("keeps the process alive while a child is pending, as a child spawned on the main thread would", () => {
    const fixture = path.join(import.meta.dirname, "fixtures", "child-thread-alone.ts");
    const out = execFileSync(process.execPath, ["--import", "tsx", fixture], { encoding: "utf8" });
    expect(out).toBe("closed 0 done\n");
  });

  it("fails the pending requests of a worker that ended, and starts a new one for the next", async () => {
    // Never ends on its own; once the worker (and its end of the pipe) is gone, its next line
    // kills it with SIGPIPE, so nothing is left running.
    const pending = request(["-c", "while sleep 0.2; do echo tick; done"], { timeoutMs: 60_000 });
    // The request is posted before the worker is stopped: it cannot be answered any more.
    await stopChildThread();
    await expect(pending).rejects.toThrow(/the thread that starts child processes exited/);
    const next = await request(["-c", "echo again"]);
    expect(next.stdout.toString()).toBe("again\n");
  });
});
