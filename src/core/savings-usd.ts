/**
 * savings_usd, the report's figure, from the project's ledger records: the records classified
 * (counted, baseline, set aside), the counterfactual three ways and the one the report stands on.
 * computeSavings (savings.ts) builds the report around these; savingsUsd alone is what each point
 * of the savings-over-time line needs.
 */
import { repricedCost, type SelfExecution, selfExecution, selfExecutionTotal } from "./counterfactual.js";
import type { LedgerEntry, LedgerPhase } from "./ledger-entry.js";
import { type Price, roundUsd } from "./pricing.js";
import type { SavingsInput } from "./savings.js";
import { type CounterfactualBasis, Tally, tallyOf } from "./savings-report.js";

/** Phases spent by the executor; every other actual phase is the planner's. */
export const EXECUTOR_PHASES: ReadonlySet<LedgerPhase> = new Set(["execution", "testing"]);
/** The planner's cost of delegating itself: actual only, never in the counterfactual. */
export const OVERHEAD_PHASES: ReadonlySet<LedgerPhase> = new Set([
  "planning",
  "delegation",
  "verification",
  "other",
]);

export const contextOf = (e: LedgerEntry) => e.input_tokens + e.cache_read_tokens + e.cache_write_tokens;
export const isMeasuredPlanner = (e: LedgerEntry) => e.origin === "client-transcript";

/** A reported phase that measured records cover: spec writing is in the measured delegation turns. */
function coveredBy(measured: ReadonlySet<LedgerPhase>, phase: LedgerPhase): boolean {
  return measured.has(phase) || (phase === "planning" && measured.has("delegation"));
}

interface TaskWork {
  /** The last attempt's executor calls, in order. */
  turns: LedgerEntry[];
}

/** Each task's last attempt (what the work took once), calls in the order they were made. */
function executorWork(entries: readonly LedgerEntry[]): Map<string, TaskWork> {
  const byTask = new Map<string, TaskWork & { attempt: number }>();
  for (const e of entries) {
    const key = e.task ?? "";
    const attempt = e.attempt ?? 0;
    const work = byTask.get(key);
    if (!work) byTask.set(key, { attempt, turns: [e] });
    else if (attempt > work.attempt) {
      work.attempt = attempt;
      work.turns = [e];
    } else if (attempt === work.attempt) work.turns.push(e);
  }
  for (const { turns } of byTask.values()) {
    // Usually in time order already (appended as they were made); the sort is stable, so calls
    // made at the same time stay in ledger order.
    if (turns.some((e, i) => i > 0 && e.ts < turns[i - 1]!.ts))
      turns.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  }
  return byTask;
}

/** The project's records, classified by what they count toward (one pass). */
export interface ClassifiedRecords {
  /** Every record of the project, in ledger order. */
  mine: LedgerEntry[];
  /** The planner's turns the client transcript measured, in ledger order. */
  measuredRecords: LedgerEntry[];
  /** A reported planner record of a phase the Claude Code transcript measured: not counted. */
  isSetAside: (e: LedgerEntry) => boolean;
  /** Every counted record: all but baseline_estimate and the set-aside ones. */
  actual: Tally;
  /** The records `actual` counts, in ledger order. */
  counted: LedgerEntry[];
  baseline: Tally;
  exploration: Tally;
  explorationRecords: LedgerEntry[];
  overheadRecords: LedgerEntry[];
  executorRecords: LedgerEntry[];
  setAside: Map<LedgerPhase, Tally>;
}

export function classifyRecords(input: SavingsInput): ClassifiedRecords {
  const mine = input.entries.filter((e) => e.project === input.project);
  const measuredRecords = mine.filter(isMeasuredPlanner);
  const measuredPhases = new Set(measuredRecords.map((e) => e.phase));
  const isSetAside = (e: LedgerEntry) =>
    e.source === "reported" && !EXECUTOR_PHASES.has(e.phase) && coveredBy(measuredPhases, e.phase);
  const actual = new Tally();
  const counted: LedgerEntry[] = [];
  const baseline = new Tally();
  const exploration = new Tally();
  const explorationRecords: LedgerEntry[] = [];
  const overheadRecords: LedgerEntry[] = [];
  const executorRecords: LedgerEntry[] = [];
  const setAside = new Map<LedgerPhase, Tally>();
  for (const e of mine) {
    if (e.phase === "baseline_estimate") {
      baseline.add(e);
      continue;
    }
    if (isSetAside(e)) {
      tallyOf(setAside, e.phase).add(e);
      continue;
    }
    actual.add(e);
    counted.push(e);
    if (EXECUTOR_PHASES.has(e.phase)) executorRecords.push(e);
    else if (e.phase === "exploration") {
      exploration.add(e);
      explorationRecords.push(e);
    } else if (OVERHEAD_PHASES.has(e.phase)) overheadRecords.push(e);
  }
  return {
    mine,
    measuredRecords,
    isSetAside,
    actual,
    counted,
    baseline,
    exploration,
    explorationRecords,
    overheadRecords,
    executorRecords,
    setAside,
  };
}

/** The counterfactual three ways, and the one the report stands on (`basis`). */
export interface Counterfactual {
  explorationUsd: number;
  work: Map<string, TaskWork>;
  /** Exploration plus the executor's tokens at planner rates; null when the planner has no price. */
  lowerBound: number | null;
  /** Exploration plus each task's self-execution; null when a price is missing. */
  modelled: number | null;
  /** Tasks modelled from a measured dispatch; `self` is their self-execution, summed. */
  modelledTasks: number;
  self: SelfExecution;
  /** The executor's tokens at planner rates, for tasks with no dispatch in the transcript. */
  repricedRest: number;
  /** The planner's context at dispatch times the turns it covers, summed (for the average). */
  contexts: number;
  laterTurns: number;
  /** Whether the client transcript measured any of the planner's turns. */
  measured: boolean;
  baselineCost: number | null;
  basis: CounterfactualBasis;
  counterfactual: number | null;
}

export function counterfactualOf(input: SavingsInput, classified: ClassifiedRecords): Counterfactual {
  const { project, plannerPrice } = input;
  const { measuredRecords, exploration, executorRecords, baseline } = classified;
  const explorationUsd = exploration.costUsd() ?? 0;
  const work = executorWork(executorRecords);
  const dispatches = measuredRecords
    .filter((e) => !e.sidechain && e.tools?.includes("dispatch_to_small_model"))
    .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  const turnsAfter = (d: LedgerEntry) =>
    (input.sessionTurns ?? []).filter(
      (t) =>
        t.session === d.session &&
        t.ts > d.ts &&
        // This project's own delegation and review turns would not exist had the planner done the work.
        !(t.project === project && OVERHEAD_PHASES.has(t.phase)),
    ).length;
  const priceOfPlanner = (model: string): Price | null =>
    input.modelPrices && model in input.modelPrices ? input.modelPrices[model]! : plannerPrice;

  let lowerBound: number | null = plannerPrice ? explorationUsd : null;
  let modelled: number | null = explorationUsd;
  let modelledTasks = 0;
  const self: SelfExecution = {
    context_usd: 0,
    growth_usd: 0,
    new_tokens_usd: 0,
    output_usd: 0,
    carry_over_usd: 0,
    added_tokens: 0,
    turns: 0,
  };
  let repricedRest = 0;
  let contexts = 0;
  let laterTurns = 0;
  // A record is its own usage (its four token counts): the turns are priced as they are.
  for (const { turns } of work.values()) {
    if (plannerPrice && lowerBound !== null) lowerBound += repricedCost(turns, plannerPrice);
    const firstTs = turns[0]!.ts;
    const dispatch = dispatches.filter((d) => d.ts <= firstTs).at(-1);
    const price = dispatch ? priceOfPlanner(dispatch.model) : plannerPrice;
    if (!price) {
      modelled = null;
      continue;
    }
    if (!dispatch) {
      const repriced = repricedCost(turns, price);
      if (modelled !== null) modelled += repriced;
      repricedRest += repriced;
      continue;
    }
    const later = turnsAfter(dispatch);
    const s = selfExecution(turns, contextOf(dispatch), later, price);
    for (const k of [
      "context_usd",
      "growth_usd",
      "new_tokens_usd",
      "output_usd",
      "carry_over_usd",
    ] as const) {
      self[k] = roundUsd(self[k] + s[k]);
    }
    self.added_tokens += s.added_tokens;
    self.turns += s.turns;
    contexts += contextOf(dispatch) * s.turns;
    laterTurns = Math.max(laterTurns, later);
    if (modelled !== null) modelled += selfExecutionTotal(s);
    modelledTasks++;
  }
  if (lowerBound !== null) lowerBound = roundUsd(lowerBound);
  if (modelled !== null) modelled = roundUsd(modelled);

  const measured = measuredRecords.length > 0;
  const baselineCost = baseline.costUsd();
  let basis: CounterfactualBasis = "lower_bound";
  let counterfactual = lowerBound;
  if (measured && (modelledTasks > 0 || work.size === 0)) {
    basis = "modelled";
    counterfactual = modelled;
  } else if (baseline.records > 0 && baselineCost !== null) {
    basis = "baseline_estimate";
    counterfactual = baselineCost;
  }
  return {
    explorationUsd,
    work,
    lowerBound,
    modelled,
    modelledTasks,
    self,
    repricedRest,
    contexts,
    laterTurns,
    measured,
    baselineCost,
    basis,
    counterfactual,
  };
}

/** counterfactual − actual; null when either is unknown. */
export function savingsOf(counterfactual: number | null, actualCost: number | null): number | null {
  return counterfactual !== null && actualCost !== null ? roundUsd(counterfactual - actualCost) : null;
}

/**
 * The report's savings_usd alone, computed as computeSavings computes it, without the breakdowns,
 * terms and task rows around it: what each point of the savings-over-time line needs.
 */
export function savingsUsd(input: SavingsInput): number | null {
  const classified = classifyRecords(input);
  return savingsOf(counterfactualOf(input, classified).counterfactual, classified.actual.costUsd());
}
