import { describe, expect, it } from "vitest";
import { newTokensPerTurn, selfExecution, selfExecutionTotal } from "../../../src/core/counterfactual.js";
import type { LedgerEntry } from "../../../src/core/ledger-entry.js";
import { costOf, type Price } from "../../../src/core/pricing.js";
import { computeSavings, type SessionTurn } from "../../../src/core/savings.js";
import { savingsUsd } from "../../../src/core/savings-usd.js";
import { entry } from "./fixtures/entries.js";
import { HAIKU, SONNET } from "./fixtures/prices.js";

const u = (input: number, output: number, cacheRead = 0, cacheWrite = 0) => ({
  input_tokens: input,
  output_tokens: output,
  cache_read_tokens: cacheRead,
  cache_write_tokens: cacheWrite,
});
// Three executor calls: the task and excerpts, then a tool result of 200 tokens, then 100.
const TURNS = [u(3000, 200), u(3400, 100), u(3600, 50)];

describe("selfExecution: the planner doing the executor's work in its own context", () => {
  it("counts per turn only what was new to the executor", () => {
    expect(newTokensPerTurn(TURNS)).toEqual([3000, 200, 100]);
    expect(newTokensPerTurn([u(1000, 10, 2000, 500), u(0, 5, 3600, 0)])).toEqual([3500, 90]);
  });

  it("prices each term: context re-read, growth, new tokens, output, carry-over", () => {
    const s = selfExecution(TURNS, 60_000, 4, SONNET);
    // 3 turns × 60k at $0.30/MTok
    expect(s.context_usd).toBeCloseTo(0.054, 9);
    // turn 2 re-reads 3,200 added tokens, turn 3 re-reads 3,500
    expect(s.growth_usd).toBeCloseTo((6700 * 0.3) / 1e6, 9);
    // 3,300 new tokens at the cache-write rate
    expect(s.new_tokens_usd).toBeCloseTo((3300 * 3.75) / 1e6, 9);
    // 350 output tokens at Sonnet's output rate
    expect(s.output_usd).toBeCloseTo((350 * 15) / 1e6, 9);
    // 3,650 added tokens re-read on 4 later planner turns
    expect(s.added_tokens).toBe(3650);
    expect(s.carry_over_usd).toBeCloseTo((3650 * 4 * 0.3) / 1e6, 9);
    expect(selfExecutionTotal(s)).toBeCloseTo(0.078015, 9);
  });
});

const SESSION = "sess-1";
let clock = Date.parse("2026-12-01T10:00:00Z");
function at(): string {
  clock += 1000;
  return new Date(clock).toISOString();
}

function planner(
  phase: LedgerEntry["phase"],
  context: number,
  output: number,
  tools?: string[],
): LedgerEntry {
  const usage = u(0, output, context, 0);
  return entry({
    ts: at(),
    project: "p",
    phase,
    model: "claude-sonnet-4-5",
    ...usage,
    cost_usd: costOf(usage, SONNET),
    source: "measured",
    origin: "client-transcript",
    session: SESSION,
    message_ids: [`msg_${clock}`],
    ...(tools ? { tools } : {}),
  });
}

function executor(turns: typeof TURNS): LedgerEntry[] {
  return turns.map((usage) =>
    entry({
      ts: at(),
      project: "p",
      task: "p/01-a",
      attempt: 1,
      phase: "execution",
      ...usage,
      cost_usd: costOf(usage, HAIKU),
      source: "measured",
      origin: "executor-api",
    }),
  );
}

function scenario(reviews: number, turns = TURNS) {
  const entries = [
    planner("exploration", 40_000, 500),
    planner("delegation", 58_000, 800, ["create_mini_task"]),
    planner("delegation", 59_000, 50, ["dispatch_to_small_model"]),
    ...executor(turns),
    ...Array.from({ length: reviews }, () => planner("verification", 60_000, 300, ["review_task"])),
  ];
  const later: SessionTurn[] = Array.from({ length: 4 }, () => ({
    session: SESSION,
    ts: at(),
    project: "(none)",
    phase: "other",
  }));
  const sessionTurns: SessionTurn[] = [
    ...entries
      .filter((e) => e.origin === "client-transcript")
      .map((e) => ({ session: SESSION, ts: e.ts, project: "p", phase: e.phase })),
    ...later,
  ];
  return { entries, sessionTurns };
}

describe("computeSavings with the planner measured from its transcript", () => {
  it("models self-execution, keeps delegation overhead on the actual side only, and can come out negative", () => {
    const { entries, sessionTurns } = scenario(3);
    const r = computeSavings({
      project: "p",
      entries,
      plannerModel: "claude-sonnet-4-5",
      plannerPrice: SONNET,
      sessionTurns,
      tasks: [],
    });
    expect(r.counterfactual_basis).toBe("modelled");
    expect(r.planner_source).toBe(`measured from the Claude Code transcript, session ${SESSION}`);
    const exploration = (40_000 * 0.3 + 500 * 15) / 1e6;
    // Dispatch at 59k context: 3 turns re-read it; the 4 later turns are outside the project.
    const self = selfExecutionTotal(selfExecution(TURNS, 59_000, 4, SONNET));
    expect(r.counterfactual_cost_usd).toBeCloseTo(exploration + self, 9);
    expect(r.modelled_counterfactual_usd).toBeCloseTo(exploration + self, 9);
    const review = (60_000 * 0.3 + 300 * 15) / 1e6;
    const delegation = (58_000 * 0.3 + 800 * 15 + 59_000 * 0.3 + 50 * 15) / 1e6;
    const exec = TURNS.reduce((n, t) => n + costOf(t, HAIKU)!, 0);
    expect(r.actual_cost_usd).toBeCloseTo(exploration + delegation + 3 * review + exec, 9);
    expect(r.savings_usd!).toBeLessThan(0);
    expect(r.verdict).toMatch(/^Delegation cost more here: \$[\d.]+ more than the planner doing it itself/);
    expect(r.verdict).toContain("the largest term is 3 verification turns at 60k context ($0.0675)");
    expect(r.terms.map((t) => [t.term, t.side])).toEqual([
      ["exploration", "both"],
      ["delegation: spec writing and dispatch", "actual"],
      ["verification: reading results and reviewing", "actual"],
      ["executor", "actual"],
      ["self-execution: planner context re-read", "counterfactual"],
      ["self-execution: new tokens and output", "counterfactual"],
      ["carry-over", "counterfactual"],
    ]);
    expect(r.terms.find((t) => t.term === "carry-over")!.detail).toBe(
      "3,650 added tokens re-read on up to 4 later planner turns",
    );
  });

  it("says delegation saved money when the executor's work is long and the review short", () => {
    const long = Array.from({ length: 12 }, (_, i) => u(3000 + i * 1500, 400));
    const { entries, sessionTurns } = scenario(1, long);
    const r = computeSavings({
      project: "p",
      entries,
      plannerModel: "claude-sonnet-4-5",
      plannerPrice: SONNET,
      sessionTurns,
      tasks: [],
    });
    expect(r.counterfactual_basis).toBe("modelled");
    expect(r.savings_usd!).toBeGreaterThan(0);
    expect(r.verdict).toMatch(/^Delegation saved \$[\d.]+ \([\d.]+ %\) against the planner doing it itself/);
    // The re-priced figure is still shown beside it. Here it is the higher one: the executor did not
    // cache, so its re-sent input is priced at the planner's full input rate.
    expect(r.repriced_counterfactual_usd!).toBeGreaterThan(r.counterfactual_cost_usd!);
  });

  it("sets aside reported records of a phase the transcript measured, and says so; nothing counts twice", () => {
    const { entries, sessionTurns } = scenario(1);
    const reported = (phase: LedgerEntry["phase"]) =>
      entry({
        project: "p",
        phase,
        model: "claude-sonnet-4-5",
        source: "reported",
        origin: "log_tokens",
        cost_usd: 0.5,
      });
    const base = computeSavings({
      project: "p",
      entries,
      plannerModel: "claude-sonnet-4-5",
      plannerPrice: SONNET,
      sessionTurns,
      tasks: [],
    });
    const r = computeSavings({
      project: "p",
      entries: [...entries, reported("planning"), reported("verification"), reported("testing")],
      plannerModel: "claude-sonnet-4-5",
      plannerPrice: SONNET,
      sessionTurns,
      tasks: [],
    });
    // planning is covered by the measured delegation turns, verification by the measured reviews; testing is executor-side.
    expect(r.set_aside?.map((s) => [s.phase, s.records, s.cost_usd])).toEqual([
      ["planning", 1, 0.5],
      ["verification", 1, 0.5],
    ]);
    expect(r.actual_cost_usd).toBeCloseTo(base.actual_cost_usd! + 0.5, 9);
    expect(r.warnings).toContain(
      "1 reported record of planning ($0.50) set aside: the Claude Code transcript measured that phase.",
    );
    expect(r.planner_source).toBe(`measured from the Claude Code transcript, session ${SESSION}`);
  });

  it("prefers the measurement to a logged baseline, and shows the baseline beside it", () => {
    const { entries, sessionTurns } = scenario(1);
    const baseline = entry({ project: "p", phase: "baseline_estimate", source: "estimated", cost_usd: 9 });
    const r = computeSavings({
      project: "p",
      entries: [...entries, baseline],
      plannerModel: "claude-sonnet-4-5",
      plannerPrice: SONNET,
      sessionTurns,
      tasks: [],
    });
    expect(r.counterfactual_basis).toBe("modelled");
    expect(r.baseline_estimate?.cost_usd).toBe(9);
  });
});

describe("savingsUsd: the report's savings_usd alone (each point of the savings-over-time line)", () => {
  it("is computeSavings' savings_usd on every basis, set-aside records and missing prices included", () => {
    const measured = scenario(3);
    const long = scenario(
      1,
      Array.from({ length: 12 }, (_, i) => u(3000 + i * 1500, 400)),
    );
    const executorOnly = executor(TURNS);
    const baseline = entry({ project: "p", phase: "baseline_estimate", source: "estimated", cost_usd: 9 });
    const reported = entry({ project: "p", phase: "planning", source: "reported", cost_usd: 0.5 });
    const input = (
      entries: LedgerEntry[],
      sessionTurns: SessionTurn[] = [],
      plannerPrice: Price | null = SONNET,
    ) => ({
      project: "p",
      entries,
      plannerModel: "claude-sonnet-4-5",
      plannerPrice,
      sessionTurns,
      tasks: [],
    });
    const inputs = [
      input(measured.entries, measured.sessionTurns),
      input(long.entries, long.sessionTurns),
      input([...measured.entries, reported, baseline], measured.sessionTurns),
      input(executorOnly),
      input([...executorOnly, baseline]),
      input([...executorOnly, reported], [], null),
    ];
    const reports = inputs.map((i) => computeSavings(i));
    expect(new Set(reports.map((r) => r.counterfactual_basis))).toEqual(
      new Set(["modelled", "lower_bound", "baseline_estimate"]),
    );
    expect(reports.some((r) => r.set_aside !== undefined)).toBe(true);
    expect(reports.some((r) => r.savings_usd === null)).toBe(true);
    expect(inputs.map((i) => savingsUsd(i))).toEqual(reports.map((r) => r.savings_usd));
  });
});
