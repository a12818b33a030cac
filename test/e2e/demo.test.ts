import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { assertBuilt, CLI, cleanEnv } from "./harness.js";

describe("delegate-mcp demo", () => {
  it("runs the whole flow offline with the scripted executor, saying so on every line", () => {
    assertBuilt();
    const run = spawnSync(process.execPath, [CLI, "demo"], {
      env: cleanEnv(),
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) expect(line.startsWith("[scripted executor]"), line).toBe(true);
    const text = run.stdout;
    expect(text).toMatch(/demo\/01-add-truncate: passed/);
    expect(text).toMatch(/demo\/02-add-wordcount: passed/);
    expect(text).toMatch(/accept_task demo\/01-add-truncate: applied src\/text\.js/);
    expect(text).toMatch(/run_validation in the workspace: passed/);
    expect(text).toMatch(/Savings\s+-?\$\d/);
    // should_delegate is asked about the two tasks the demo creates, and its answer is shown as given.
    expect(text).toMatch(
      /should_delegate \(2 small single-file tasks\) → current_model, modelled savings -?\d+–-?\d+ %/,
    );
    // No planner ran: every line showing planner figures says they are illustrative.
    for (const line of lines.filter((l) =>
      /log_tokens|claude-sonnet-4-5|^\S+ \S+ (exploration|delegation|verification|total|Actual|Savings)\b/.test(
        l,
      ),
    )) {
      expect(line, line).toMatch(/illustrative/);
    }
    expect(text).toMatch(/not billed/);
  }, 150_000);
});
