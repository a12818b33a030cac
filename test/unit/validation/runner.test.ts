import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import { type CommandResult, runCommand, runValidation } from "../../../src/validation/index.js";
import { eventually, isRunning, runningMembers } from "./processes.js";

let dir: string;
/** Process groups and pids the tests started: killed after each test whatever happened. */
const leftovers: number[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "delegate-validation-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  for (const target of leftovers.splice(0)) {
    try {
      process.kill(target, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** A file the command writes its pgid ($$ of the group leader) into. */
function pgidFile(name: string): string {
  return join(dir, `${name}.pgid`);
}

async function readNumberWhenWritten(path: string): Promise<number> {
  expect(await eventually(() => existsSync(path) && readFileSync(path, "utf8").trim() !== "", 5000)).toBe(
    true,
  );
  const n = Number(readFileSync(path, "utf8").trim());
  leftovers.push(-n);
  return n;
}

const opts = () => ({ cwd: dir });

describe("runValidation: process groups and deadlines", () => {
  it("kills the whole tree of `sh -c 'sleep 999 & sleep 999'` at a 2 s timeout", async () => {
    const file = pgidFile("tree");
    const started = Date.now();
    const pending = runCommand(
      { run: `echo $$ > ${file}; sh -c 'sleep 999 & sleep 999'`, timeout_s: 2 },
      opts(),
    );
    const pgid = await readNumberWhenWritten(file);
    // bash, sh and both sleeps: the group really had grandchildren to kill.
    expect(await eventually(() => runningMembers(pgid).length >= 3, 3000)).toBe(true);

    const result = await pending;
    expect(Date.now() - started).toBeLessThan(6000);
    expect(result).toMatchObject({ passed: false, timed_out: true, exit_code: null });
    expect(result.error).toMatch(/timed out after 2 s/);
    expect(await eventually(() => runningMembers(pgid).length === 0, 1000)).toBe(true);
  });

  it("returns soon after the command exits although a background grandchild holds stdout open", async () => {
    const pidFile = join(dir, "bg.pid");
    const started = Date.now();
    const result = await runCommand(
      { run: `sleep 30 & echo $! > ${pidFile}; echo hi`, timeout_s: 20 },
      opts(),
    );
    const sleeper = Number(readFileSync(pidFile, "utf8"));
    leftovers.push(sleeper);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result).toMatchObject({ passed: true, exit_code: 0, timed_out: false, output: "hi" });
    // The leftover was in the command's group, so it was removed with it.
    expect(await eventually(() => !isRunning(sleeper), 1000)).toBe(true);
  });

  it("returns at the deadline even when a process outside the group keeps the pipe open", async () => {
    const pidFile = join(dir, "escaped.pid");
    const started = Date.now();
    const result = await runCommand(
      { run: `setsid sleep 30 & echo $! > ${pidFile}; echo waiting; sleep 999`, timeout_s: 1 },
      opts(),
    );
    const escaped = Number(readFileSync(pidFile, "utf8"));
    leftovers.push(escaped);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result).toMatchObject({ passed: false, timed_out: true, output: "waiting" });
    // The scenario was real: the escaped sleep still held the write end when the call returned.
    expect(isRunning(escaped)).toBe(true);
  });

  it("clamps timeout_s to the ceiling", async () => {
    const started = Date.now();
    const result = await runCommand(
      { run: "sleep 999", timeout_s: 100_000 },
      { ...opts(), timeoutCeilingS: 1 },
    );
    expect(result.timed_out).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("closes stdin: a command reading it sees end of file at once", async () => {
    const result = await runCommand({ run: "cat; echo done", timeout_s: 20 }, opts());
    expect(result).toMatchObject({ passed: true, output: "done" });
    expect(result.duration_ms).toBeLessThan(5000);
  });

  it("runs in cwd", async () => {
    const result = await runCommand({ run: "pwd -P" }, opts());
    expect(result.output).toBe(realpathSync(dir));
  });
});

describe("runValidation: output", () => {
  it("keeps memory bounded for 50 MB of output, with head, tail and the exact dropped count", async () => {
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    const result = await runCommand(
      { run: "printf HEAD; head -c 50000000 /dev/zero | tr '\\0' a; printf TAIL" },
      { ...opts(), outputBytes: 8192 },
    );
    clearInterval(sampler);
    expect(result.passed).toBe(true);
    expect(result.output.startsWith("HEADaaaa")).toBe(true);
    expect(result.output.endsWith("aaaaTAIL")).toBe(true);
    expect(result.output).toContain(`\n[... ${50_000_008 - 8192} bytes dropped ...]\n`);
    expect(Buffer.byteLength(result.output)).toBeLessThan(8192 + 64);
    expect(peak - before).toBeLessThan(100 * 1024 * 1024);
  });

  it("interleaves stdout and stderr in the order they were written", async () => {
    const result = await runCommand({ run: "echo one; echo two >&2; echo three; echo four >&2" }, opts());
    expect(result.output).toBe("one\ntwo\nthree\nfour");
  });

  it("turns binary output into valid UTF-8 without control characters", async () => {
    for (const outputBytes of [8192, 1000]) {
      const result = await runCommand({ run: "head -c 4096 /dev/urandom" }, { ...opts(), outputBytes });
      const bytes = Buffer.from(result.output, "utf8");
      expect(new TextDecoder("utf-8", { fatal: true }).decode(bytes)).toBe(result.output);
      expect(result.output).toContain("\uFFFD");
      // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
      expect(result.output).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    }
  });

  it("does not split a multi-byte character straddling the head/tail boundary", async () => {
    // Budget 12: head = 4 bytes ("abc" + first byte of €), tail = 8 bytes (last 2 of € + "xyz123").
    const result = await runCommand(
      { run: "printf 'abc\\xe2\\x82\\xac%s\\xe2\\x82\\xacxyz123' mmmmmmmmmmmmmmmmmmmm" },
      { ...opts(), outputBytes: 12 },
    );
    expect(result.output).toBe("abc\n[... 26 bytes dropped ...]\nxyz123");
  });

  it("strips NULs, escape sequences and carriage returns", async () => {
    const result = await runCommand({ run: "printf 'a\\0b\\033[31mc\\033[0m\\r\\nd'" }, opts());
    expect(result.output).toBe("abc\nd");
  });
});

describe("runValidation: environment", () => {
  it("hides ANTHROPIC_API_KEY and other credentials of the server's env; ordinary variables pass", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      ANTHROPIC_API_KEY: "sk-ant-test",
      OPENAI_API_KEY: "sk-test",
      GITHUB_TOKEN: "ghp_test",
      DB_PASSWORD: "hunter2",
      DELEGATE_ORDINARY: "kept-value",
    });
    try {
      const result = await runCommand({ run: "env" }, opts());
      expect(result.output).toContain("DELEGATE_ORDINARY=kept-value");
      for (const secret of ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD"]) {
        expect(result.output).not.toContain(`${secret}=`);
      }
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  it("scrubs an explicit env and extra names too", async () => {
    const env = { PATH: process.env.PATH, ANTHROPIC_API_KEY: "x", MY_KEY_VAR: "y", PLAIN: "z" };
    const result = await runCommand({ run: "env" }, { ...opts(), env, scrubNames: ["MY_KEY_VAR"] });
    expect(result.output).toContain("PLAIN=z");
    expect(result.output).not.toMatch(/ANTHROPIC_API_KEY|MY_KEY_VAR/);
  });
});

describe("runValidation: pass/fail", () => {
  it("checks substring and regex expectations against the output", async () => {
    const { results } = await runValidation(
      [
        { run: "echo 'Tests 3 passed'", expect_output: "3 passed" },
        { run: "echo 'Tests 3 passed'", expect_output: "failed" },
        { run: "printf 'x\\nok 42\\n'", expect_output: "/^ok \\d+$/m" },
        { run: "echo 'ok 4x'", expect_output: "/^ok \\d+$/" },
      ],
      { ...opts(), continueOnFailure: true },
    );
    expect(results.map((r) => r.passed)).toEqual([true, false, true, false]);
    expect(results[1].error).toMatch(/output containing "failed"/);
    expect(results[3].error).toMatch(/output matching \/\^ok/);
  });

  it("rejects an invalid regex before running anything", async () => {
    const marker = join(dir, "should-not-exist");
    const run = runValidation([{ run: `touch ${marker}` }, { run: "true", expect_output: "/a(b/" }], opts());
    await expect(run).rejects.toThrow(UserError);
    await expect(run).rejects.toThrow(
      /commands\[1\]\.expect_output "\/a\(b\/" is not a valid regular expression/,
    );
    expect(existsSync(marker)).toBe(false);
  });

  it("reports a missing command (exit 127) as failed with bash's message", async () => {
    const result = await runCommand({ run: "definitely-not-a-command-xyz --flag" }, opts());
    expect(result).toMatchObject({ passed: false, exit_code: 127, timed_out: false });
    expect(result.output).toMatch(/definitely-not-a-command-xyz: command not found/);
    expect(result.error).toMatch(/127/);
  });

  it("reports bash failing to start as a failed result, not a throw", async () => {
    const result = await runCommand(
      { run: "echo hi" },
      { ...opts(), env: { PATH: join(dir, "no-bin-here") } },
    );
    expect(result).toMatchObject({ passed: false, exit_code: null, timed_out: false });
    expect(result.error).toMatch(/bash could not be started: .*ENOENT/);
  });

  it("honours a non-zero expect_exit", async () => {
    const { results } = await runValidation(
      [
        { run: "exit 3", expect_exit: 3 },
        { run: "true", expect_exit: 3 },
      ],
      { ...opts(), continueOnFailure: true },
    );
    expect(results.map((r) => [r.passed, r.exit_code])).toEqual([
      [true, 3],
      [false, 0],
    ]);
    expect(results[1].error).toMatch(/exited with 0, expected 3/);
  });

  it("rejects an empty list, a bad timeout and a bad expect_exit", async () => {
    await expect(runValidation([], opts())).rejects.toThrow(UserError);
    await expect(runCommand({ run: "true", timeout_s: 0 }, opts())).rejects.toThrow(/timeout_s/);
    await expect(runCommand({ run: "true", expect_exit: 1.5 }, opts())).rejects.toThrow(/expect_exit/);
    await expect(runCommand({ run: "true" }, { cwd: join(dir, "missing") })).rejects.toThrow(
      /does not exist/,
    );
  });
});

describe("runValidation: sequencing and cancellation", () => {
  it("stops at the first failure and reports the rest as skipped", async () => {
    const events: string[] = [];
    const run = await runValidation([{ run: "echo a" }, { run: "false" }, { run: "echo c" }], {
      ...opts(),
      onProgress: (e) => events.push(`${e.phase}:${e.index}/${e.total}`),
    });
    expect(run.passed).toBe(false);
    expect(run.results.map(summary)).toEqual(["ran:pass", "ran:fail", "skipped"]);
    expect(run.results[2]).toMatchObject({ passed: false, exit_code: null, skipped: true });
    expect(events).toEqual(["start:0/3", "end:0/3", "start:1/3", "end:1/3"]);
  });

  it("runs everything with continueOnFailure, and passes only when all pass", async () => {
    const failing = await runValidation([{ run: "false" }, { run: "echo c" }], {
      ...opts(),
      continueOnFailure: true,
    });
    expect(failing.results.map(summary)).toEqual(["ran:fail", "ran:pass"]);
    expect(failing.passed).toBe(false);
    const passing = await runValidation([{ run: "true" }, { run: "echo c" }], opts());
    expect(passing.passed).toBe(true);
  });

  it("cancellation kills the running group and skips the remaining commands", async () => {
    const file = pgidFile("cancel");
    const controller = new AbortController();
    const started = Date.now();
    const pending = runValidation(
      [{ run: `echo $$ > ${file}; sh -c 'sleep 999 & sleep 999'`, timeout_s: 60 }, { run: "echo after" }],
      { ...opts(), signal: controller.signal, continueOnFailure: true },
    );
    const pgid = await readNumberWhenWritten(file);
    expect(await eventually(() => runningMembers(pgid).length >= 3, 3000)).toBe(true);
    controller.abort();

    const run = await pending;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(run.passed).toBe(false);
    expect(run.results[0]).toMatchObject({ passed: false, timed_out: false, error: "cancelled" });
    expect(run.results[1]).toMatchObject({ skipped: true, passed: false, error: "cancelled" });
    expect(await eventually(() => runningMembers(pgid).length === 0, 1000)).toBe(true);
  });

  it("runs nothing when the signal is already aborted", async () => {
    const marker = join(dir, "not-run");
    const run = await runValidation([{ run: `touch ${marker}` }], { ...opts(), signal: AbortSignal.abort() });
    expect(run.results[0]).toMatchObject({ skipped: true, error: "cancelled" });
    expect(existsSync(marker)).toBe(false);
  });
});

function summary(r: CommandResult): string {
  if (r.skipped) return "skipped";
  return r.passed ? "ran:pass" : "ran:fail";
}
