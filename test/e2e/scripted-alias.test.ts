import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fullSpec, MATH, SUBTRACT, spec } from "./fixtures.js";
import { makeRepo, type RunningServer, removeDir, startServer, textOf } from "./harness.js";

const LABEL = "scripted executor, not a model";

type Result = {
  task_id: string;
  status: string;
  validation: { passed: boolean; ran: number };
  usage: { cost_usd: number | null; model: string; input_tokens: number };
  report: string;
};

describe('the keyless try-out: model "scripted" through the real MCP flow', { timeout: 120_000 }, () => {
  let repo: string;
  let server: RunningServer;

  beforeAll(async () => {
    repo = makeRepo({ "src/math.ts": MATH, ".gitignore": "mini-projects/\n" });
    // No key of any kind in the server's environment (cleanEnv drops them).
    server = await startServer({ root: repo });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    removeDir(repo);
  });

  it("creates, dispatches, validates, accepts and reports, saying what it is everywhere", async () => {
    const created = await server.call("create_mini_task", fullSpec({ model: "scripted", project: "try" }));
    expect(created.isError, textOf(created)).toBeFalsy();
    const id = (created.structuredContent as { id: string }).id;

    const d = await server.call("dispatch_to_small_model", { task_id: id });
    expect(d.isError, textOf(d)).toBeFalsy();
    const r = (d.structuredContent as { results: Result[] }).results[0]!;
    expect(r.status, JSON.stringify(r)).toBe("passed");
    expect(r.validation).toEqual({ passed: true, ran: 1 });
    expect(r.report).toMatch(/^scripted executor, not a model: appended its snippet to src\/math\.ts\./);
    // A passing item is compact; its usage is on the attempt get_task shows.
    const got = await server.call("get_task", { task_id: id });
    expect(JSON.stringify(got.structuredContent)).toContain(LABEL);
    const usage = (got.structuredContent as { attempts: { usage: Result["usage"] }[] }).attempts[0]!.usage;
    expect(usage.model).toBe("scripted");
    expect(usage.cost_usd).toBe(0);
    expect(usage.input_tokens).toBeGreaterThan(0);

    const accepted = await server.call("accept_task", { task_id: id });
    expect(accepted.isError, textOf(accepted)).toBeFalsy();
    expect(readFileSync(join(repo, "src/math.ts"), "utf8")).toBe(`${MATH}\n${SUBTRACT}`);

    const report = await server.call("savings_report", { project: "try" });
    expect(report.isError, textOf(report)).toBeFalsy();
    const s = report.structuredContent as { by_model: { model: string }[]; warnings: string[] };
    expect(s.by_model.map((m) => m.model)).toContain(LABEL);
    expect(s.warnings.some((w) => w.startsWith(`${LABEL}: its execution tokens are counted locally`))).toBe(
      true,
    );
    const log = readFileSync(join(repo, "mini-projects/try/LOG.md"), "utf8");
    expect(log).toContain(`- ${LABEL}: its execution tokens are counted locally`);
  });

  it("a task without a snippet per file fails with the reason, still labelled", async () => {
    const id = (
      (await server.call("create_mini_task", spec("No snippet here", { model: "scripted", project: "try" })))
        .structuredContent as { id: string }
    ).id;
    const d = await server.call("dispatch_to_small_model", { task_id: id });
    const r = (d.structuredContent as { results: Result[] }).results[0]!;
    expect(r.status).toBe("failed");
    expect(r.report).toContain(
      `${LABEL}: it only applies snippets, one per file to modify, and this task has 1 file(s) and 0 snippet(s)`,
    );
  });
});
