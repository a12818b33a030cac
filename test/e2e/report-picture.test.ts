import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LedgerEntry } from "../../src/core/ledger-entry.js";
import { costOf } from "../../src/core/pricing.js";
import { formatUsd } from "../../src/core/report-render.js";
import { entry } from "../unit/ledger/fixtures/entries.js";
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

const re = (text: string) => text.replace(/[$.*+?()[\]{}|^\\]/g, "\\$&");

/** Every drawn value of the SVG: group, label, and the dollar figure it was drawn from. */
function drawn(svg: string): { group: string; label: string; usd: number | null }[] {
  return [...svg.matchAll(/data-group="([^"]+)" data-label="([^"]*)" data-usd="([^"]+)"/g)].map((m) => ({
    group: m[1]!,
    label: m[2]!,
    usd: m[3] === "null" ? null : Number(m[3]),
  }));
}

describe("the picture of the money", { timeout: 120_000 }, () => {
  let repo: string;

  beforeAll(async () => {
    repo = makeRepo({ "src/a.ts": "export const a = 1;\n" });
    writeFileSync(join(repo, "delegate.config.json"), JSON.stringify(workedConfig));
    const server = await startServer({ root: repo });
    for (const [phase, model, input_tokens, output_tokens] of workedLog)
      await server.call("log_tokens", {
        project: "todo",
        phase,
        model,
        input_tokens,
        output_tokens,
        ...(model === "haiku" ? { task_id: "todo/01-split" } : {}),
      });
    await server.close();
  }, 120_000);
  afterAll(() => removeDir(repo));

  it("draws the report's own numbers: terminal bars, and an SVG next to LOG.md that LOG.md shows", () => {
    const json = cli(["report", "--project", "todo", "--json"], repo);
    expect(json.status, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    const svg = readFileSync(join(repo, "mini-projects/todo/savings.svg"), "utf8");
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).not.toMatch(/<script|href=/);

    const values = drawn(svg);
    expect(values.filter((v) => v.group === "comparison")).toEqual([
      { group: "comparison", label: "Actual", usd: report.actual_cost_usd },
      { group: "comparison", label: "Counterfactual", usd: report.counterfactual_cost_usd },
    ]);
    expect(values.filter((v) => v.group === "phase")).toEqual(
      report.by_phase.map((p: { phase: string; cost_usd: number | null }) => ({
        group: "phase",
        label: p.phase,
        usd: p.cost_usd,
      })),
    );
    // One task: the cumulative savings line is a single point, the report's own savings.
    expect(values.filter((v) => v.group === "cumulative")).toEqual([
      { group: "cumulative", label: "todo/01-split", usd: report.savings_usd },
    ]);
    // The labels printed on the bars are the report's figures, formatted as in its table.
    expect(svg).toContain(`>${formatUsd(report.actual_cost_usd)}</text>`);
    expect(svg).toContain(`>${formatUsd(report.counterfactual_cost_usd)}</text>`);

    const log = readFileSync(join(repo, "mini-projects/todo/LOG.md"), "utf8");
    expect(log).toMatch(/## Picture\n\n!\[[^\]]+\]\(savings\.svg\)\n/);

    const text = cli(["report", "--project", "todo"], repo);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(`\\n {2}Actual +█+·* {2}${re(formatUsd(report.actual_cost_usd))}\\n`),
    );
    expect(text.stdout).toMatch(
      new RegExp(`\\n {2}Counterfactual {2}█{32} {2}${re(formatUsd(report.counterfactual_cost_usd))}\\n`),
    );
    for (const p of report.by_phase as { phase: string; cost_usd: number }[])
      expect(text.stdout).toMatch(
        new RegExp(`\\n {2}${p.phase} +[█·]{32} {2}${re(formatUsd(p.cost_usd))}\\n`),
      );
    // Deterministic: the same report draws the same bytes.
    expect(readFileSync(join(repo, "mini-projects/todo/savings.svg"), "utf8")).toBe(svg);
  });
});

const SONNET = { input_per_mtok: 3, output_per_mtok: 15 };
const HAIKU = { input_per_mtok: 0.25, output_per_mtok: 1.25 };

/** A record at a fixed time (`seconds` after a fixed instant): the test does not depend on the clock. */
function rec(
  project: string,
  seconds: number,
  phase: LedgerEntry["phase"],
  big: boolean,
  input: number,
  output: number,
  task?: string,
): LedgerEntry {
  const usage = { input_tokens: input, output_tokens: output, cache_read_tokens: 0, cache_write_tokens: 0 };
  return entry({
    ts: new Date(Date.UTC(2026, 0, 2, 3, 0, 0) + seconds * 1000).toISOString(),
    project,
    phase,
    model: big ? "claude-sonnet-4-5" : "claude-haiku-4-5",
    source: big ? "reported" : "measured",
    ...usage,
    cost_usd: costOf(usage, big ? SONNET : HAIKU),
    ...(task ? { task: `${project}/${task}`, attempt: 1 } : {}),
  });
}

/** "gain": delegation pays off, task by task. "loss": each task's spec costs more than the work. */
const ledger: LedgerEntry[] = [
  rec("gain", 0, "planning", true, 20_000, 4_000),
  rec("loss", 5, "delegation", true, 50_000, 5_000, "01-a"),
  rec("gain", 10, "execution", false, 100_000, 10_000, "01-a"),
  rec("loss", 15, "execution", false, 20_000, 2_000, "01-a"),
  rec("gain", 20, "execution", false, 100_000, 10_000, "02-b"),
  rec("loss", 25, "delegation", true, 50_000, 5_000, "02-b"),
  rec("gain", 30, "testing", false, 50_000, 5_000, "02-b"),
  rec("loss", 35, "execution", false, 20_000, 2_000, "02-b"),
  rec("gain", 40, "verification", true, 10_000, 2_000),
  rec("loss", 45, "delegation", true, 50_000, 5_000, "03-c"),
  rec("gain", 50, "execution", false, 100_000, 10_000, "03-c"),
  rec("loss", 55, "execution", false, 20_000, 2_000, "03-c"),
  rec("gain", 60, "verification", true, 10_000, 2_000),
];
const jsonl = (records: readonly LedgerEntry[]) => records.map((e) => `${JSON.stringify(e)}\n`).join("");

/** A repository whose ledger holds `records`, written directly (fixed timestamps). */
function repoWith(records: readonly LedgerEntry[]): string {
  const repo = makeRepo({ "src/a.ts": "export const a = 1;\n" });
  writeFileSync(join(repo, "delegate.config.json"), JSON.stringify(workedConfig));
  mkdirSync(join(repo, "mini-projects"), { recursive: true });
  writeFileSync(join(repo, "mini-projects/ledger.jsonl"), jsonl(records));
  return repo;
}

/** `delegate-mcp report --json` of one project, and the cumulative points of the SVG it wrote. */
function reportOf(repo: string, project: string) {
  const run = cli(["report", "--project", project, "--json"], repo);
  expect(run.status, run.stderr).toBe(0);
  const svg = readFileSync(join(repo, `mini-projects/${project}/savings.svg`), "utf8");
  return {
    report: JSON.parse(run.stdout),
    svg,
    points: drawn(svg)
      .filter((v) => v.group === "cumulative")
      .map(({ label, usd }) => ({ label, usd })),
  };
}

/** The ledger as it stood once `task` had finished: cut after that task's last record. */
function cutAfter(task: string): LedgerEntry[] {
  const last = ledger.findLastIndex((e) => e.task === task);
  return ledger.slice(0, last + 1);
}

describe("the picture's cumulative savings line", { timeout: 120_000 }, () => {
  const repos: string[] = [];
  afterAll(() => {
    for (const repo of repos) removeDir(repo);
  });
  const repo = (records: readonly LedgerEntry[]) => {
    const r = repoWith(records);
    repos.push(r);
    return r;
  };

  it("ends at the report's savings, and each point is the report over the ledger cut after that task", () => {
    const full = repo(ledger);
    const gain = reportOf(full, "gain");
    expect(gain.points.map((p) => p.label)).toEqual(["gain/01-a", "gain/02-b", "gain/03-c"]);
    expect(gain.points.at(-1)!.usd).toBe(gain.report.savings_usd);
    expect(gain.report.savings_usd).toBeGreaterThan(0);
    expect(gain.svg).toContain(`>saved ${formatUsd(gain.report.savings_usd)}</text>`);

    // Independently: the same CLI over a ledger that stops after gain/02-b's last record.
    const cut = repo(cutAfter("gain/02-b"));
    expect(gain.points[1]!.usd).toBe(reportOf(cut, "gain").report.savings_usd);
    expect(gain.points[1]!.usd).not.toBe(gain.points[2]!.usd);

    // Same ledger, same bytes.
    expect(reportOf(full, "gain").svg).toBe(gain.svg);
  });

  it("draws a project where delegation cost more below the zero axis", () => {
    const full = repo(ledger);
    const loss = reportOf(full, "loss");
    expect(loss.report.savings_usd).toBeLessThan(0);
    expect(loss.points.map((p) => p.label)).toEqual(["loss/01-a", "loss/02-b", "loss/03-c"]);
    expect(loss.points.at(-1)!.usd).toBe(loss.report.savings_usd);
    const cut = repo(cutAfter("loss/01-a"));
    expect(loss.points[0]!.usd).toBe(reportOf(cut, "loss").report.savings_usd);
    // Each task adds to the loss: the line goes down, every point below the zero axis.
    const usd = loss.points.map((p) => p.usd!);
    expect(usd[0]).toBeLessThan(0);
    expect(usd[1]).toBeLessThan(usd[0]!);
    expect(usd[2]).toBeLessThan(usd[1]!);
    const zero = Number(/<line data-axis="zero" x1="[^"]+" y1="([^"]+)"/.exec(loss.svg)![1]);
    const cys = [...loss.svg.matchAll(/<circle data-group="cumulative"[^>]* cy="([^"]+)"/g)].map((m) =>
      Number(m[1]),
    );
    expect(cys).toHaveLength(3);
    for (const cy of cys) expect(cy).toBeGreaterThan(zero);
    expect(loss.svg).toContain(`>cost more by ${formatUsd(-loss.report.savings_usd)}</text>`);
  });
});
