import { describe, expect, it } from "vitest";
import type { LedgerEntry, LedgerPhase } from "../../../src/core/ledger-entry.js";
import { costOf, type Price } from "../../../src/core/pricing.js";
import {
  MAX_SAVINGS_POINTS,
  renderSvg,
  type SavingsPoint,
  savingsOverTime,
} from "../../../src/core/report-chart.js";
import { computeSavings, type SavingsInput } from "../../../src/core/savings.js";
import { entry } from "./fixtures/entries.js";

const SONNET: Price = { input_per_mtok: 3, output_per_mtok: 15 };
const HAIKU: Price = { input_per_mtok: 0.25, output_per_mtok: 1.25 };
const MODEL = { sonnet: "claude-sonnet-4-5", haiku: "claude-haiku-4-5" } as const;
const PRICE = { sonnet: SONNET, haiku: HAIKU } as const;

/** Fixed timestamps, `seconds` after a fixed instant: nothing here depends on the clock. */
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 2, 3, 0, 0) + seconds * 1000).toISOString();

function rec(
  seconds: number,
  phase: LedgerPhase,
  model: keyof typeof MODEL,
  input: number,
  output: number,
  over: Partial<LedgerEntry> = {},
): LedgerEntry {
  const usage = { input_tokens: input, output_tokens: output, cache_read_tokens: 0, cache_write_tokens: 0 };
  return entry({
    ts: at(seconds),
    project: "demo",
    phase,
    model: MODEL[model],
    source: model === "haiku" ? "measured" : "reported",
    ...usage,
    cost_usd: costOf(usage, PRICE[model]),
    ...over,
  });
}

const task = (id: string) => ({ task: `demo/${id}`, attempt: 1 });

function inputOf(entries: LedgerEntry[], plannerPrice: Price | null = SONNET): SavingsInput {
  return { project: "demo", entries, plannerModel: MODEL.sonnet, plannerPrice, tasks: [] };
}

/** The report's savings over the ledger cut after `seconds`: computed here, independently of the chart. */
function savingsUpTo(input: SavingsInput, seconds: number): number | null {
  return computeSavings({ ...input, entries: input.entries.filter((e) => e.ts <= at(seconds)) }).savings_usd;
}

/** The cumulative points of an SVG, with where they were drawn. */
function drawnPoints(svg: string) {
  return [
    ...svg.matchAll(
      /<(circle|text) data-group="cumulative" data-label="([^"]*)" data-usd="([^"]+)"([^>]*)>/g,
    ),
  ].map((m) => ({
    kind: m[1]!,
    label: m[2]!,
    usd: m[3] === "null" ? null : Number(m[3]),
    cy: Number(/ cy="([^"]+)"/.exec(m[4]!)?.[1] ?? Number.NaN),
  }));
}

const zeroAxis = (svg: string) => Number(/<line data-axis="zero" x1="[^"]+" y1="([^"]+)"/.exec(svg)?.[1]);

/** A project whose second task finishes before its first, with a planner turn imported late. */
function mixedLedger(): LedgerEntry[] {
  return [
    rec(0, "planning", "sonnet", 20_000, 4_000), // $0.12, actual only
    rec(10, "execution", "haiku", 100_000, 10_000, task("01-a")), // $0.0375; $0.45 at Sonnet rates
    entry({ ts: at(15), project: "other", cost_usd: 9 }), // another project: ignored
    rec(20, "execution", "haiku", 100_000, 10_000, task("02-b")),
    rec(30, "testing", "haiku", 100_000, 10_000, task("01-a")), // 01-a finishes here, after 02-b
    rec(40, "verification", "sonnet", 10_000, 2_000), // $0.06
    rec(50, "execution", "haiku", 100_000, 10_000, task("03-c")),
    rec(60, "verification", "sonnet", 10_000, 2_000), // after the last task: in the last point
    rec(5, "planning", "sonnet", 10_000, 2_000), // $0.06, appended late (a transcript import)
  ];
}

describe("savingsOverTime: the cumulative savings the SVG draws", () => {
  it("has a point per task in the order tasks finished, each the report's savings over the ledger so far", () => {
    const input = inputOf(mixedLedger());
    const report = computeSavings(input);
    const points = savingsOverTime(input, report);
    expect(points.map((p) => p.label)).toEqual(["demo/02-b", "demo/01-a", "demo/03-c"]);
    // After 02-b (20 s): 2 × $0.45 at Sonnet rates − ($0.12 + $0.06 planning + 2 × $0.0375).
    expect(points[0]!.usd).toBeCloseTo(0.9 - 0.255, 9);
    expect(points[0]!.usd).toBe(savingsUpTo(input, 20));
    expect(points[1]!.usd).toBe(savingsUpTo(input, 30));
    // The last point is the report's own figure, the verification after the last task included.
    expect(points[2]!.usd).toBe(report.savings_usd);
    expect(report.savings_usd).toBe(savingsUpTo(input, 60));
    expect(report.savings_usd).not.toBe(savingsUpTo(input, 50));
  });

  it("is deterministic: the same ledger draws the same bytes", () => {
    const draw = () => {
      const input = inputOf(mixedLedger());
      const report = computeSavings(input);
      return renderSvg(report, savingsOverTime(input, report));
    };
    const svg = draw();
    expect(draw()).toBe(svg);
    expect(drawnPoints(svg).map(({ label, usd }) => ({ label, usd }))).toEqual(
      savingsOverTime(inputOf(mixedLedger()), computeSavings(inputOf(mixedLedger()))),
    );
    expect(svg).toContain("Cumulative savings");
    expect(svg).not.toMatch(/<script|href=/);
  });

  it("draws a project where delegation cost more below a zero axis", () => {
    // The executor on Sonnet, the planner priced at Haiku rates: every task costs more delegated.
    const entries = ["01-a", "02-b", "03-c"].map((id, i) =>
      rec(10 * (i + 1), "execution", "sonnet", 100_000, 10_000, task(id)),
    );
    const input = inputOf(entries, HAIKU);
    const report = computeSavings(input);
    const points = savingsOverTime(input, report);
    expect(report.savings_usd).toBeCloseTo(-3 * 0.4125, 9);
    expect(points.map((p) => p.usd)).toEqual([
      savingsUpTo(input, 10),
      savingsUpTo(input, 20),
      report.savings_usd,
    ]);
    expect(points[0]!.usd).toBeCloseTo(-0.4125, 9);
    expect(points[1]!.usd).toBeCloseTo(-0.825, 9);

    const svg = renderSvg(report, points);
    const zero = zeroAxis(svg);
    const drawn = drawnPoints(svg);
    expect(drawn.map((d) => d.usd)).toEqual(points.map((p) => p.usd));
    for (const d of drawn) expect(d.cy).toBeGreaterThan(zero);
    // Lower on the picture as the loss grows.
    expect(drawn[0]!.cy).toBeLessThan(drawn[1]!.cy);
    expect(drawn[1]!.cy).toBeLessThan(drawn[2]!.cy);
    expect(svg).toContain(">cost more by $1.2375</text>");
  });

  it("draws a line that crosses zero on both sides of the axis", () => {
    const input = inputOf(mixedLedger().concat(rec(1, "delegation", "sonnet", 200_000, 20_000)));
    const report = computeSavings(input);
    const points = savingsOverTime(input, report);
    expect(points[0]!.usd).toBeLessThan(0);
    expect(report.savings_usd).toBeGreaterThan(0);
    const svg = renderSvg(report, points);
    const drawn = drawnPoints(svg);
    expect(drawn[0]!.cy).toBeGreaterThan(zeroAxis(svg));
    expect(drawn[2]!.cy).toBeLessThan(zeroAxis(svg));
  });

  it("never invents a number: unknown savings break the line and say unknown", () => {
    const unpricedFirst = [
      rec(10, "execution", "haiku", 100_000, 10_000, { ...task("01-a"), cost_usd: null }),
      rec(20, "execution", "haiku", 100_000, 10_000, task("02-b")),
      rec(30, "execution", "haiku", 100_000, 10_000, task("03-c")),
    ];
    const input = inputOf(unpricedFirst);
    const report = computeSavings(input);
    const points = savingsOverTime(input, report);
    expect(points.map((p) => p.usd)).toEqual([null, savingsUpTo(input, 20), report.savings_usd]);
    expect(points[1]!.usd).not.toBeNull();
    const svg = renderSvg(report, points);
    expect(drawnPoints(svg).map((d) => d.kind)).toEqual(["text", "circle", "circle"]);
    expect(svg.match(/<polyline /g)).toHaveLength(1);

    // No planner price: no counterfactual, so no savings anywhere on the line.
    const noPrice = inputOf(mixedLedger(), null);
    const unknown = computeSavings(noPrice);
    const none = savingsOverTime(noPrice, unknown);
    expect(none.every((p) => p.usd === null)).toBe(true);
    const blank = renderSvg(unknown, none);
    expect(blank).not.toContain("<polyline");
    expect(blank).not.toContain('data-group="cumulative" data-label="demo/03-c" data-usd="0"');
    expect(blank).toContain(">unknown</text>");
  });

  it("says so when no task has finished", () => {
    const input = inputOf([rec(0, "planning", "sonnet", 1_000, 100)]);
    const report = computeSavings(input);
    const points = savingsOverTime(input, report);
    expect(points).toEqual([]);
    expect(renderSvg(report, points)).toContain(">no task finished yet</text>");
  });

  it(`keeps at most ${MAX_SAVINGS_POINTS} points for 3,000 tasks, evenly sampled, the last always kept`, () => {
    const n = 3000;
    const id = (i: number) => String(i).padStart(4, "0");
    const entries = [...Array(n).keys()].map((i) =>
      rec(i, "execution", "haiku", 10_000 + i, 1_000, { task: `demo/${id(i)}`, attempt: 1 }),
    );
    const input = inputOf(entries);
    const report = computeSavings(input);
    const points: SavingsPoint[] = savingsOverTime(input, report);
    expect(points).toHaveLength(MAX_SAVINGS_POINTS);
    expect(points[0]!.label).toBe("demo/0000");
    expect(points.at(-1)).toEqual({ label: `demo/${id(n - 1)}`, usd: report.savings_usd });
    const indexes = points.map((p) => Number(p.label.slice(5)));
    for (let k = 1; k < indexes.length; k++) expect(indexes[k]!).toBeGreaterThan(indexes[k - 1]!);
    const half = Math.floor(MAX_SAVINGS_POINTS / 2);
    expect(points[half]!.usd).toBe(savingsUpTo(input, indexes[half]!));
    const svg = renderSvg(report, points);
    expect(drawnPoints(svg)).toHaveLength(MAX_SAVINGS_POINTS);
    expect(svg.length).toBeLessThan(20_000);
  });
});
