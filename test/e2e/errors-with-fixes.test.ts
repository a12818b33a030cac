import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeLlm } from "../fakes/llm-server.js";
import { CLI, cleanEnv, makeRepo, type RunningServer, removeDir, startServer, textOf } from "./harness.js";

function cli(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: cleanEnv(opts.env),
    encoding: "utf8",
    timeout: 120_000,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
}

describe("tool errors name every field and its fix at once", () => {
  let repo: string;
  let server: RunningServer;

  beforeAll(async () => {
    repo = makeRepo({ "src/a.ts": "export const a = 1;\n" });
    server = await startServer({ root: repo });
  });
  afterAll(async () => {
    await server?.close();
    removeDir(repo);
  });

  it("create_mini_task {} names every missing required field in one message", async () => {
    const r = await server.call("create_mini_task", {});
    expect(r.isError).toBe(true);
    expect(textOf(r)).toBe(
      "Missing required fields: project, title, objective, files_to_modify, steps; add them.",
    );
  });

  it("a missing field and a wrong one come back together", async () => {
    const r = await server.call("create_mini_task", { project: "Not A Slug", title: "Fix it" });
    expect(textOf(r)).toMatch(
      /^Missing required fields: objective, files_to_modify, steps; add them\. project /,
    );
  });

  it("blocking lint says why for each field, not only which", async () => {
    const r = await server.call("create_mini_task", {
      project: "p",
      title: "Edit two files",
      objective: "Edit them.",
      files_to_read: [{ path: "src/missing.ts" }],
      files_to_modify: [{ path: "src/nope.ts", action: "edit" }],
      steps: ["Add a line."],
    });
    expect(r.isError).toBe(true);
    const text = textOf(r);
    expect(text).toMatch(/^Not stored \(4 blocking\): /);
    expect(text).toContain("validation is empty; add at least one command");
    expect(text).toContain("acceptance_criteria is empty; add what must be true");
    expect(text).toContain(
      "files_to_read[0].path: src/missing.ts does not exist; fix the path or drop the entry.",
    );
    expect(text).toContain(
      'files_to_modify[0].path: src/nope.ts does not exist, so it cannot be edited; use action "create"',
    );
  });

  it("run_validation with a 1 MB command is the caller's mistake, not an internal error", async () => {
    const huge = `echo ${"x".repeat(1024 * 1024)}`;
    for (const commands of [[huge], [{ run: huge }]]) {
      const r = await server.call("run_validation", { commands });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(
        /^commands\[0\](\.run)? must be at most 8000 characters long; shorten it \(put a long script in a file/,
      );
      expect(textOf(r).length).toBeLessThan(400);
    }
  });

  it("run_validation returns the tail of a passing ad-hoc command's output", async () => {
    const r = await server.call("run_validation", { commands: ["seq 1 3000; echo LAST-LINE"] });
    expect(r.isError, textOf(r)).toBeFalsy();
    const out = (r.structuredContent as { results: { passed: boolean; output: string }[] }).results[0]!;
    expect(out.passed).toBe(true);
    expect(out.output, JSON.stringify(out.output.slice(-50))).toMatch(/^….*\n3000\nLAST-LINE\n?$/s);
    expect(out.output.length).toBeLessThanOrEqual(1000);
  });
});

describe("the command line says the fix", () => {
  it("an unknown option ends with 'see delegate-mcp --help'", () => {
    const run = cli(["report", "--colour"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe("delegate-mcp: unknown option --colour; see delegate-mcp --help\n");
    const cmd = cli(["frobnicate"]);
    expect(cmd.status).toBe(2);
    expect(cmd.stderr).toBe('delegate-mcp: unknown command "frobnicate"; see delegate-mcp --help\n');
  });

  it("delegate-mcp help prints the usage", () => {
    const run = cli(["help"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^delegate-mcp — /);
    expect(run.stdout).toContain("delegate-mcp init [--dry-run]");
  });

  it("a bad --root at stdio start-up is one stderr line and a non-zero exit", () => {
    const run = cli(["--root", "/nonexistent/repo"], { input: "" });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      'delegate-mcp: --root "/nonexistent/repo" is not a directory; give the path of your repository.\n',
    );
    expect(run.stdout).toBe("");
  });

  it("tasks --root /nonexistent does not tell the user to pass --root", () => {
    const run = cli(["tasks", "--root", "/nonexistent"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      '--root "/nonexistent" is not a directory; give the path of your repository',
    );
    expect(run.stderr).not.toContain("pass --root");
  });

  it("the demo prints a failed task's reason (a rejected key)", async () => {
    const fake = await startFakeLlm({ requireApiKey: "the-right-key" });
    try {
      // Asynchronously: the fake LLM answers from this process.
      const run = await promisify(execFile)(process.execPath, [CLI, "demo"], {
        env: cleanEnv({ ANTHROPIC_API_KEY: "a-wrong-key", ANTHROPIC_BASE_URL: fake.anthropicBaseURL }),
        encoding: "utf8",
        timeout: 120_000,
      }).then(
        () => ({ status: 0, stdout: "" }),
        (err: { code: number; stdout: string }) => ({ status: err.code, stdout: err.stdout }),
      );
      expect(run.status).toBe(1);
      expect(run.stdout).toMatch(/demo\/01-add-truncate: error; no files changed; .*\n.*why: .*401/);
      expect(run.stdout).toMatch(/demo\/02-add-wordcount: error; .*\n.*why: .*401/);
    } finally {
      await fake.close();
    }
  });
});
