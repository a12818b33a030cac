import {
  appendFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveModel } from "../../../src/config/models.js";
import { UserError } from "../../../src/core/errors.js";
import type { LedgerPhase } from "../../../src/core/ledger-entry.js";
import { Ledger, ledgerAt } from "../../../src/store/ledger.js";
import { buildSavingsReport, pricedEntry, priceEntry, pricesLabel } from "../../../src/store/report.js";
import { entry } from "./fixtures/entries.js";
import { workedConfig, workedLog } from "./fixtures/worked-example.js";

let root: string;
let dir: string;

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "report-")));
  dir = join(root, "mini-projects");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The worked example as the server and the planner would log it, priced through the config. */
async function logWorkedExample(ledger: Ledger): Promise<void> {
  const log = async (phase: LedgerPhase, alias: string, input: number, output: number) => {
    const model = resolveModel(workedConfig, alias);
    const usage = { input_tokens: input, output_tokens: output, cache_read_tokens: 0, cache_write_tokens: 0 };
    await ledger.append(
      entry({
        project: "worked",
        phase,
        model: model.model,
        provider: model.provider,
        ...usage,
        cost_usd: await priceEntry(model, usage),
        source: alias === "haiku" ? "measured" : "reported",
        ...(alias === "haiku" ? { task: "worked/01-split", attempt: 1 } : {}),
      }),
    );
  };
  for (const [phase, alias, input, output] of workedLog) await log(phase, alias, input, output);
}

const tasks = [
  {
    id: "worked/01-split",
    status: "accepted",
    estimate: { input_tokens: 20_000, output_tokens: 6_000, cost_usd: 0.0125, model: "claude-haiku-4-5" },
  },
];

describe("buildSavingsReport", () => {
  it("reproduces the worked example end to end and writes LOG.md", async () => {
    await logWorkedExample(ledgerAt(dir));
    await new Ledger(join(dir, "ledger.jsonl")).append(entry({ project: "someone-else", cost_usd: 50 }));
    const { report, markdown, logPath } = await buildSavingsReport({
      workspaceRoot: root,
      dir: "mini-projects",
      project: "worked",
      config: workedConfig,
      tasks,
      now: new Date("2026-01-02T03:04:05Z"),
    });
    expect(report.actual_cost_usd).toBeCloseTo(0.58425, 9);
    expect(report.counterfactual_cost_usd).toBeCloseTo(1.035, 9);
    expect(report.savings_usd).toBeCloseTo(0.45075, 9);
    expect(report.savings_pct).toBeCloseTo((0.45075 / 1.035) * 100, 9);
    expect(report.repriced_counterfactual_usd).toBeCloseTo(0.441, 9);
    expect(report.counterfactual_basis).toBe("baseline_estimate");
    expect(report.planner_source).toBe("reported with log_tokens");
    expect(report.planner_model).toBe("claude-sonnet-4-5");
    expect(report.prices).toMatch(
      /^@pydantic\/genai-prices [\d.]+ \(prices as of [\d-]+\); overrides in delegate\.config\.json for haiku, sonnet$/,
    );
    expect(report.tasks[0]).toMatchObject({
      id: "worked/01-split",
      attempts: 1,
      error_pct: { input: 10, output: 16.7 },
    });
    expect(logPath).toBe(join(dir, "worked", "LOG.md"));
    expect(await readFile(logPath, "utf8")).toBe(markdown);
    expect(markdown).toContain("**$0.45075 (43.6 %)**");
    expect(markdown).toContain("Generated 2026-01-02T03:04:05.000Z");
    expect(await readdir(join(dir, "worked"))).toEqual(["LOG.md", "savings.svg"]);
  });

  it("answers for a project with no ledger at all", async () => {
    const { report, markdown } = await buildSavingsReport({
      workspaceRoot: root,
      dir,
      project: "fresh",
      config: {},
      tasks: [],
    });
    expect(report).toMatchObject({ actual_cost_usd: 0, savings_usd: 0, savings_pct: null, warnings: [] });
    expect(markdown).toContain("# Tracking Success — fresh");
    expect(await readFile(join(dir, "fresh", "LOG.md"), "utf8")).toBe(markdown);
  });

  it("still answers over a corrupt ledger, reporting the bad line by number", async () => {
    const ledger = ledgerAt(dir);
    await logWorkedExample(ledger);
    await appendFile(ledger.path, "{oops\n");
    await ledger.append(entry({ project: "worked", phase: "verification", cost_usd: 0.01 }));
    const { report, markdown } = await buildSavingsReport({
      workspaceRoot: root,
      dir,
      project: "worked",
      config: workedConfig,
      tasks,
    });
    expect(report.actual_cost_usd).toBeCloseTo(0.59425, 9);
    expect(report.warnings).toEqual(["ledger.jsonl line 7 is not valid JSON; skipped."]);
    expect(markdown).toContain("- ledger.jsonl line 7 is not valid JSON; skipped.");
  });

  it("keeps the Learnings the user wrote when it regenerates LOG.md", async () => {
    const opts = { workspaceRoot: root, dir, project: "worked", config: workedConfig, tasks };
    const { logPath, markdown } = await buildSavingsReport(opts);
    await writeFile(
      logPath,
      markdown.replace(/## Learnings[\s\S]*$/, "## Learnings\n\n- Exact snippets halve retries.\n"),
    );
    await logWorkedExample(ledgerAt(dir));
    const again = await buildSavingsReport(opts);
    expect(again.report.actual_cost_usd).toBeCloseTo(0.58425, 9);
    expect(again.markdown.endsWith("## Learnings\n\n- Exact snippets halve retries.\n")).toBe(true);
  });

  it("refuses a project name that is not a slug, and a project folder that leaves the workspace", async () => {
    const opts = { workspaceRoot: root, dir, config: {}, tasks: [] };
    await expect(buildSavingsReport({ ...opts, project: "../etc" })).rejects.toBeInstanceOf(UserError);
    const outside = await realpath(await mkdtemp(join(tmpdir(), "outside-")));
    try {
      await mkdir(dir, { recursive: true });
      await symlink(outside, join(dir, "escape"));
      await expect(buildSavingsReport({ ...opts, project: "escape" })).rejects.toThrow(
        /outside the workspace/,
      );
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe("pricedEntry", () => {
  it("builds a valid, priced record that the ledger accepts", async () => {
    const usage = { input_tokens: 18_000, output_tokens: 6_000, cache_read_tokens: 0, cache_write_tokens: 0 };
    const e = await pricedEntry({
      project: "worked",
      phase: "execution",
      model: resolveModel(workedConfig, "haiku"),
      usage,
      source: "measured",
      now: new Date("2026-01-02T03:04:05Z"),
      task: "worked/01-split",
      attempt: 2,
      escalation: true,
    });
    expect(e).toEqual({
      ts: "2026-01-02T03:04:05.000Z",
      project: "worked",
      task: "worked/01-split",
      attempt: 2,
      phase: "execution",
      model: "claude-haiku-4-5",
      provider: "anthropic",
      ...usage,
      cost_usd: 0.012,
      source: "measured",
      escalation: true,
    });
    await ledgerAt(dir).append(e);
    expect((await ledgerAt(dir).read()).entries).toEqual([e]);
  });

  it("records an unknown model's cost as null", async () => {
    const model = resolveModel(
      { models: { local: { provider: "openai-compatible", model: "qwen" } } },
      "local",
    );
    const e = await pricedEntry({
      project: "p",
      phase: "execution",
      model,
      usage: { input_tokens: 10, output_tokens: 1, cache_read_tokens: 0, cache_write_tokens: 0 },
      source: "measured",
      now: new Date(0),
      error: "timeout",
    });
    expect(e.cost_usd).toBeNull();
    expect(e.error).toBe("timeout");
  });
});

describe("pricesLabel", () => {
  it("names the catalog, and the overrides when there are any", async () => {
    expect(await pricesLabel({})).toMatch(
      /^@pydantic\/genai-prices \d+\.\d+\.\d+ \(prices as of \d{4}-\d{2}-\d{2}\)$/,
    );
  });
});
