import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workedConfig, workedLog } from "../unit/ledger/fixtures/worked-example.js";
import { CLI, cleanEnv, makeRepo, removeDir, startServer } from "./harness.js";

function cli(args: string[], cwd: string) {
  return spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: cleanEnv(),
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("delegate-mcp report and tasks", () => {
  let repo: string;

  beforeAll(async () => {
    repo = makeRepo({ "src/a.ts": "export const a = 1;\n" });
    // The workflow document's prices, so the worked example's figures come out exactly.
    writeFileSync(join(repo, "delegate.config.json"), JSON.stringify(workedConfig));
    const server = await startServer({ root: repo });
    for (const [phase, model, input_tokens, output_tokens] of workedLog)
      await server.call("log_tokens", { project: "todo", phase, model, input_tokens, output_tokens });
    const created = await server.call("create_mini_task", {
      project: "todo",
      title: "Move parser",
      objective: "Move the parser into its own module.",
      files_to_modify: [{ path: "src/a.ts", action: "edit" }],
      steps: ["Rename a to parser."],
      acceptance_criteria: ["src/a.ts exports parser"],
      validation: [{ run: "grep -q parser src/a.ts" }],
    });
    expect(created.isError).toBeFalsy();
    await server.close();
  });
  afterAll(() => removeDir(repo));

  it("report prints the worked example's figures and writes LOG.md", () => {
    const run = cli(["report", "--project", "todo"], repo);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("$0.58425");
    expect(run.stdout).toContain("$1.035");
    expect(run.stdout).toMatch(/\$0\.45075 \(43\.6 %\)/);
    expect(run.stdout).toContain("todo/01-move-parser");
    expect(run.stdout).toContain("mini-projects/todo/LOG.md");
  });

  it("report --json gives the same numbers as the tool", () => {
    const run = cli(["report", "--project", "todo", "--json"], repo);
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(r.actual_cost_usd).toBeCloseTo(0.58425, 9);
    expect(r.counterfactual_cost_usd).toBeCloseTo(1.035, 9);
    expect(r.savings_usd).toBeCloseTo(0.45075, 9);
    expect(r.counterfactual_basis).toBe("baseline_estimate");
  });

  it("tasks prints the task table", () => {
    const run = cli(["tasks"], repo);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/todo\/01-move-parser\s+ready/);
  });

  it("tasks runs the server's start-up repair: a task left running by a dead process reads as interrupted", () => {
    const path = join(repo, "mini-projects/todo/01-move-parser.json");
    const before = readFileSync(path, "utf8");
    try {
      writeFileSync(path, JSON.stringify({ ...JSON.parse(before), status: "running" }));
      const run = cli(["tasks"], repo);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/todo\/01-move-parser\s+error/);
      expect(JSON.parse(readFileSync(path, "utf8")).status).toBe("error");
    } finally {
      writeFileSync(path, before);
    }
  });

  it("report for an unknown project fails and writes nothing", () => {
    const run = cli(["report", "--project", "tdo"], repo);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/project "tdo" has no tasks and no ledger records/);
    expect(existsSync(join(repo, "mini-projects/tdo"))).toBe(false);
  });

  it("an unknown command or flag fails with usage on stderr", () => {
    const bad = cli(["frobnicate"], repo);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown command "frobnicate"; see delegate-mcp --help/);
    const flag = cli(["report", "--colour"], repo);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/colour/);
  });
});
