/**
 * The benchmark harness in quick mode (tiny sizes), so it cannot rot. Asserts only that every
 * group produced rows with finite figures and that both renderings carry them: timings and goals
 * are never asserted (benchmarks never gate CI).
 */
import { describe, expect, it } from "vitest";
import { GOALS, goalText } from "../../bench/goals.js";
import { findingsOf, renderResults, renderTable } from "../../bench/report.js";
import { SUITE } from "../../bench/suite.js";
import type { BenchRow } from "../../bench/types.js";
import { assertBuilt } from "./harness.js";

const produced: BenchRow[] = [];

describe("bench harness, quick mode", () => {
  it.each(SUITE.map((s) => [s.name, s] as const))(
    "%s yields rows with finite values for each of its groups",
    async (_name, entry) => {
      assertBuilt();
      const rows = await entry.bench({ quick: true });
      produced.push(...rows);
      expect(new Set(rows.map((r) => r.group))).toEqual(new Set(entry.groups));
      for (const r of rows) {
        const where = `${r.group}: ${r.name}`;
        expect(Number.isFinite(r.value), where).toBe(true);
        expect(r.unit, where).not.toBe("");
        if (r.reference !== undefined) expect(Number.isFinite(r.reference), where).toBe(true);
        if (r.ratio !== undefined) expect(Number.isFinite(r.ratio), where).toBe(true);
        if (r.runs) expect(r.runs.n, where).toBeGreaterThanOrEqual(3);
      }
    },
    120_000,
  );

  it("renders every row in the terminal table and in RESULTS.md", () => {
    expect(produced.length).toBeGreaterThan(0);
    const table = renderTable(produced);
    const md = renderResults({
      rows: produced,
      date: new Date(0),
      machine: { cpu: "cpu", cores: 2, memoryGiB: 4, os: "os", node: process.version },
      revision: "abc1234",
      loadAtStart: 0,
      loadAtEnd: 0,
      durationMs: 1000,
      findings: "## Findings\n\nWritten by hand.",
    });
    for (const r of produced) {
      expect(table).toContain(r.name);
      expect(md).toContain(r.name.replaceAll("|", "\\|"));
    }
    expect(md).toMatch(/Goals met: \d+ of \d+/);
    // Every table says how to read it.
    for (const group of new Set(produced.map((r) => r.group)))
      expect(md, group).toContain(`## ${group}\n\nHow to read this: `);
    // Every goal of the table appears, measured or not.
    for (const goal of Object.values(GOALS)) expect(md).toContain(goalText(goal));
    // The hand-written section survives the next run.
    expect(findingsOf(md)).toBe("## Findings\n\nWritten by hand.");
  });
});
