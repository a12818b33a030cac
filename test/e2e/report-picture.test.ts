import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatUsd } from "../../src/core/report-render.js";
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
      await server.call("log_tokens", { project: "todo", phase, model, input_tokens, output_tokens });
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
