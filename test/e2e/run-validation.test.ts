import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeRepo, type RunningServer, removeDir, sleep, startServer, textOf } from "./harness.js";

type Run = {
  passed: boolean;
  where: string;
  results: {
    run: string;
    passed: boolean;
    exit_code: number | null;
    timed_out: boolean;
    output: string;
    skipped?: boolean;
  }[];
};

describe("run_validation through the stdio server", () => {
  let repo: string;
  let server: RunningServer;

  beforeAll(async () => {
    repo = makeRepo({ "src/a.ts": "export const a = 1;\n" });
    writeFileSync(
      join(repo, "delegate.config.json"),
      JSON.stringify({
        models: { local: { provider: "anthropic", model: "claude-haiku-4-5", api_key_env: "MY_LLM_CRED" } },
      }),
    );
    server = await startServer({
      root: repo,
      env: {
        ANTHROPIC_API_KEY: "sk-must-not-leak",
        MY_LLM_CRED: "also-secret",
        DELEGATE_TEST_PLAIN: "visible",
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    removeDir(repo);
  });

  it("runs ad-hoc commands in the workspace: a pass is compact, a failure keeps its tail", async () => {
    const r = await server.call("run_validation", {
      commands: ["grep -q 'a = 1' src/a.ts", { run: "echo hello-$((6*7))", expect_output: "/hello-42/" }],
    });
    expect(r.isError, textOf(r)).toBeFalsy();
    const run = r.structuredContent as Run;
    expect(run.passed).toBe(true);
    expect(run.where).toBe("workspace");
    // Commands the planner wrote keep the tail of their output even when they pass.
    expect(run.results.map((x) => x.output)).toEqual(["", "hello-42"]);

    const f = await server.call("run_validation", {
      commands: ["seq 1 5000; echo FAILURE-MARK >&2; exit 4", "echo never"],
    });
    const failed = f.structuredContent as Run;
    expect(failed.passed).toBe(false);
    expect(failed.results[0]).toMatchObject({ passed: false, exit_code: 4 });
    expect(failed.results[0]!.output).toContain("FAILURE-MARK");
    expect(failed.results[0]!.output.length).toBeLessThanOrEqual(2001);
    expect(failed.results[1]).toMatchObject({ skipped: true, passed: false });
  });

  it("keeps the whole answer within the result budget however much failing output there is", async () => {
    // 20 failing commands, each printing 8 KB of 3-byte characters (the worst case for tokens per byte).
    const noisy = `node -e "process.stdout.write('漢'.repeat(9000)); console.log(' END'); process.exit(2)"`;
    const r = await server.call("run_validation", {
      commands: Array(20).fill(noisy),
      continue_on_failure: true,
    });
    const run = r.structuredContent as Run;
    expect(run.results).toHaveLength(20);
    expect(run.results.every((x) => x.exit_code === 2 && x.output.endsWith("END"))).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(r.structuredContent))).toBeLessThanOrEqual(45_000);
  });

  it("strips API keys from the child's environment", async () => {
    const r = await server.call("run_validation", {
      commands: [
        { run: "env", expect_output: "DELEGATE_TEST_PLAIN=visible" },
        'test -z "$ANTHROPIC_API_KEY"',
        'test -z "$MY_LLM_CRED"',
      ],
    });
    expect((r.structuredContent as Run).passed, textOf(r)).toBe(true);
  });

  it("reports a missing command as failed with exit 127 and its message", async () => {
    const r = await server.call("run_validation", { commands: ["definitely-not-a-command-xyz"] });
    const run = r.structuredContent as Run;
    expect(run.results[0]).toMatchObject({ passed: false, exit_code: 127 });
    expect(run.results[0]!.output).toMatch(/not found/);
  });

  it("names the field for a bad request", async () => {
    const r = await server.call("run_validation", {
      commands: [{ run: "true", expect_output: "/(unclosed/" }],
    });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/expect_output/);
    const none = await server.call("run_validation", {});
    expect(none.isError).toBe(true);
    expect(textOf(none)).toMatch(/task_id or commands/);
  });

  it("client cancellation kills the running command's process group", async () => {
    // A unique sleep duration is the marker: bash may exec the last command, so comments vanish.
    const marker = `sleep 3${String(process.pid % 100).padStart(2, "0")}.${Date.now() % 100000}`;
    const controller = new AbortController();
    const call = server.client.callTool(
      { name: "run_validation", arguments: { commands: [`sh -c '${marker} & ${marker}'`] } },
      undefined,
      { signal: controller.signal, timeout: 60_000 },
    );
    const alive = () => {
      try {
        return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" }).trim().length > 0;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && !alive(); i++) await sleep(50);
    expect(alive()).toBe(true);
    controller.abort();
    await expect(call).rejects.toThrow();
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      await sleep(50);
      gone = !alive();
    }
    expect(gone).toBe(true);
  });

  it("sends a progress notification per command when asked", async () => {
    const messages: string[] = [];
    const r = await server.client.callTool(
      { name: "run_validation", arguments: { commands: ["true", "true", "true"] } },
      undefined,
      { onprogress: (p) => messages.push(String(p.message)) },
    );
    expect(r.isError).toBeFalsy();
    expect(messages).toEqual(["true", "true", "true"]);
  });
});

describe("run_validation argument errors", () => {
  it("a command that is neither a string nor {run, ...} gets one sentence naming the form", async () => {
    const repo = makeRepo({ "a.txt": "a\n" });
    const server = await startServer({ root: repo });
    try {
      const r = await server.call("run_validation", { commands: [123] });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toBe(
        "commands[0] must be a shell command string or {run, expect_exit?, expect_output?, timeout_s?}.",
      );
    } finally {
      await server.close();
      removeDir(repo);
    }
  });
});
