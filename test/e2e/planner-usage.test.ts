/** Planner usage the server cannot measure: a transcript it cannot read, and log_tokens for any model. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MATH, spec } from "./fixtures.js";
import { makeRepo, type RunningServer, removeDir, startServer, textOf } from "./harness.js";

let server: RunningServer | undefined;
let repo: string | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (repo) removeDir(repo);
  repo = undefined;
});

async function ok(name: string, args: Record<string, unknown>) {
  const r = await server!.call(name, args);
  expect(r.isError, textOf(r)).toBeFalsy();
  return r.structuredContent as Record<string, unknown>;
}

const SESSION = "5d1c0f2e-aaaa-4bbb-8ccc-123456789abc";

describe("planner usage without a readable transcript", () => {
  it("a missing transcript gives one clear note in the report, and every tool still works", async () => {
    repo = makeRepo({ "src/math.ts": MATH });
    const config = join(repo, ".fake-claude");
    server = await startServer({
      root: repo,
      env: { CLAUDE_CODE_SESSION_ID: SESSION, CLAUDE_PROJECT_DIR: repo, CLAUDE_CONFIG_DIR: config },
    });
    await ok("create_mini_task", spec("Add subtract"));
    await ok("list_tasks", { project: "calc" });
    await ok("log_tokens", { project: "calc", phase: "exploration", input_tokens: 1000, output_tokens: 100 });
    const report = await ok("savings_report", { project: "calc" });
    const notes = (report.warnings as string[]).filter((w) => w.includes("transcript"));
    expect(notes).toEqual([
      `The Claude Code transcript of session ${SESSION} could not be read (not found at ${config}/projects/${repo.replace(/[^A-Za-z0-9]/g, "-")}/${SESSION}.jsonl); planner figures are those logged with log_tokens.`,
    ]);
    expect(report.planner_source).toBe("reported with log_tokens");
    // A directory where the file should be: still one note, still an answer.
    mkdirSync(join(config, "projects", repo.replace(/[^A-Za-z0-9]/g, "-"), `${SESSION}.jsonl`), {
      recursive: true,
    });
    const again = await ok("savings_report", { project: "calc" });
    expect((again.warnings as string[]).filter((w) => w.includes("transcript"))).toHaveLength(1);
  });

  it("the config switch turns the import off, and the report says so", async () => {
    repo = makeRepo({
      "src/math.ts": MATH,
      "delegate.config.json": JSON.stringify({ import_planner_usage: false }),
    });
    const config = join(repo, ".fake-claude");
    const folder = join(config, "projects", repo.replace(/[^A-Za-z0-9]/g, "-"));
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${SESSION}.jsonl`), "");
    server = await startServer({
      root: repo,
      env: { CLAUDE_CODE_SESSION_ID: SESSION, CLAUDE_PROJECT_DIR: repo, CLAUDE_CONFIG_DIR: config },
    });
    await ok("create_mini_task", spec("Add subtract"));
    const report = await ok("savings_report", { project: "calc" });
    expect(report.warnings).toContain(
      "Planner usage import is off (import_planner_usage: false in delegate.config.json); planner figures are those logged with log_tokens.",
    );
  });
});

describe("log_tokens", () => {
  it("keeps any model: a catalog price is used, an unknown one is null with a warning, the default is defaults.planner", async () => {
    repo = makeRepo({ "src/math.ts": MATH });
    server = await startServer({ root: repo });
    const gemini = await ok("log_tokens", {
      project: "p",
      phase: "exploration",
      model: "gemini-2.5-pro",
      input_tokens: 1_000_000,
      output_tokens: 0,
    });
    // The catalog's gemini-2.5-pro: $1.25 per million input tokens.
    expect(gemini).toEqual({ recorded: true, cost_usd: 1.25 });
    const unknown = await ok("log_tokens", {
      project: "p",
      phase: "planning",
      model: "my-local-llama",
      input_tokens: 10,
      output_tokens: 10,
    });
    expect(unknown).toMatchObject({ recorded: true, cost_usd: null });
    expect(unknown.warning).toContain("no price known for my-local-llama");
    const dflt = await ok("log_tokens", {
      project: "p",
      phase: "delegation",
      input_tokens: 1_000_000,
      output_tokens: 0,
    });
    expect(dflt.cost_usd).toBe(3);
    const report = await ok("savings_report", { project: "p" });
    expect((report.by_model as { model: string }[]).map((m) => m.model).sort()).toEqual([
      "claude-sonnet-4-5",
      "gemini-2.5-pro",
      "my-local-llama",
    ]);
    expect((report.warnings as string[]).some((w) => w.startsWith("my-local-llama has no known price"))).toBe(
      true,
    );
  });
});
