/**
 * The savings report computed from ledger records: actual cost by phase and model, the
 * counterfactual (the modelled "planner does it itself", the lower bound, or the planner's own
 * baseline), its terms and the verdict. The report's shape is savings-report.ts; its task rows
 * savings-tasks.ts; savings_usd itself (the records classified, the counterfactual) savings-usd.ts.
 */
import { LEDGER_PHASES, type LedgerEntry, type LedgerPhase } from "./ledger-entry.js";
import { type Price, roundUsd } from "./pricing.js";
import { formatTokens, formatUsd } from "./report-render.js";
import { type SavingsReport, type SavingsTerm, Tally, tallyOf } from "./savings-report.js";
import { type SavingsTaskInput, taskRows } from "./savings-tasks.js";
import {
  classifyRecords,
  contextOf,
  counterfactualOf,
  EXECUTOR_PHASES,
  isMeasuredPlanner,
  savingsOf,
} from "./savings-usd.js";

/** Every phase but the baseline estimate, which is never spent; in the ledger's order. */
const ACTUAL_PHASES = LEDGER_PHASES.filter((p) => p !== "baseline_estimate");

/** Line warnings beyond this many are summarized: the report is what the planner pays to read. */
const MAX_READ_WARNINGS = 10;

/** A planner turn of a client session (any project), for the carry-over term. */
export interface SessionTurn {
  session: string;
  ts: string;
  project: string;
  phase: LedgerPhase;
}

export interface SavingsInput {
  project: string;
  /** Ledger records; records of other projects are ignored. */
  entries: readonly LedgerEntry[];
  /** The planner's model id (defaults.planner), whose rates price the counterfactual without a transcript. */
  plannerModel: string;
  plannerPrice: Price | null;
  /** Prices of the models measured planner records name; a model missing here uses plannerPrice. */
  modelPrices?: Readonly<Record<string, Price | null>>;
  /** Main-chain planner turns of the client sessions the project's records came from. */
  sessionTurns?: readonly SessionTurn[];
  /** A sentence on why the planner's usage could not be measured (transcript missing, import off). */
  plannerNote?: string;
  tasks: readonly SavingsTaskInput[];
  /** Warnings from reading the ledger (skipped lines). */
  warnings?: readonly string[];
  /** Skipped lines beyond those in `warnings` (the ledger index keeps only the first few). */
  moreWarnings?: number;
  /** e.g. "@pydantic/genai-prices 0.1.8", shown in the report. */
  catalog?: string;
}

const kTokens = (n: number) => `${Math.round(n / 1000)}k`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** "3 verification turns at 60k context" for measured turns; "verification (reported)" otherwise. */
function turnsDetail(records: readonly LedgerEntry[], what: string): string {
  const measured = records.filter(isMeasuredPlanner);
  if (measured.length === 0) return `${what} (reported with log_tokens)`;
  const avg = measured.reduce((n, e) => n + contextOf(e), 0) / measured.length;
  const rest = records.length - measured.length;
  return `${plural(measured.length, `${what} turn`)} at ${kTokens(avg)} context${rest ? ` and ${rest} reported` : ""}`;
}

/**
 * The savings report of one project (DESIGN "Tokens and money"). Actual: every record except
 * baseline_estimate and reported records a measured phase covers. Counterfactual, "the planner
 * does it itself": exploration (in both) plus each task's modelled self-execution when the
 * planner's context at dispatch was measured, else the executor's tokens at planner rates (a lower
 * bound); a logged baseline_estimate is used only without a measurement. Delegation overhead (spec
 * writing, dispatch and review turns) is actual cost only. Pure: the caller reads ledger and prices.
 */
export function computeSavings(input: SavingsInput): SavingsReport {
  const { project, plannerModel, plannerPrice } = input;
  const classified = classifyRecords(input);
  const { mine, measuredRecords, isSetAside, actual, counted, baseline, exploration, setAside } = classified;
  const { explorationRecords, overheadRecords, executorRecords } = classified;
  const byPhase = new Map<LedgerPhase, Tally>();
  const byModel = new Map<string, Tally>();
  for (const e of counted) {
    tallyOf(byPhase, e.phase).add(e);
    tallyOf(byModel, e.model).add(e);
  }
  const unpricedByModel = new Map<string, number>();
  for (const e of mine) {
    if (e.cost_usd === null) unpricedByModel.set(e.model, (unpricedByModel.get(e.model) ?? 0) + 1);
  }

  const warnings: string[] = [];
  if (input.plannerNote) warnings.push(input.plannerNote);
  const readWarnings = input.warnings ?? [];
  warnings.push(...readWarnings.slice(0, MAX_READ_WARNINGS));
  const moreWarnings = Math.max(0, readWarnings.length - MAX_READ_WARNINGS) + (input.moreWarnings ?? 0);
  if (moreWarnings > 0) warnings.push(`${moreWarnings} more ledger lines were skipped.`);
  for (const [model, n] of unpricedByModel) {
    warnings.push(
      `${model} has no known price: ${plural(n, "record")} with cost_usd null left out of the costs; add a price for it in delegate.config.json.`,
    );
  }
  for (const [phase, t] of setAside) {
    warnings.push(
      `${plural(t.records, "reported record")} of ${phase} (${formatUsd(t.costUsd())}) set aside: the Claude Code transcript measured that phase.`,
    );
  }

  // --- The counterfactual, three ways -----------------------------------------------------------
  const cf = counterfactualOf(input, classified);
  const { explorationUsd, work, lowerBound, modelled, modelledTasks, self } = cf;
  const { repricedRest, contexts, laterTurns, measured, baselineCost, basis, counterfactual } = cf;
  if (!plannerPrice && executorRecords.length > 0) {
    warnings.push(
      `The planner model ${plannerModel} has no known price, so the executor's tokens cannot be re-priced; add a price for it in delegate.config.json.`,
    );
  }
  if (baseline.records > 0 && baselineCost === null) {
    warnings.push("The logged baseline_estimate has no known price; it is not used.");
  }

  // --- Terms: each cost, its side and how it was found -------------------------------------------
  const costOfRecords = (records: readonly LedgerEntry[]) => {
    const t = new Tally();
    for (const e of records) t.add(e);
    return t.costUsd();
  };
  const delegationRecords = overheadRecords.filter((e) => e.phase === "planning" || e.phase === "delegation");
  const verificationRecords = overheadRecords.filter((e) => e.phase === "verification");
  const terms: SavingsTerm[] = [];
  if (exploration.records > 0) {
    terms.push({
      term: "exploration",
      side: "both",
      usd: exploration.costUsd(),
      detail: turnsDetail(explorationRecords, "exploration"),
    });
  }
  const actualTerms: SavingsTerm[] = [];
  if (delegationRecords.length > 0) {
    actualTerms.push({
      term: "delegation: spec writing and dispatch",
      side: "actual",
      usd: costOfRecords(delegationRecords),
      detail: turnsDetail(delegationRecords, "delegation"),
    });
  }
  if (verificationRecords.length > 0) {
    actualTerms.push({
      term: "verification: reading results and reviewing",
      side: "actual",
      usd: costOfRecords(verificationRecords),
      detail: turnsDetail(verificationRecords, "verification"),
    });
  }
  if (executorRecords.length > 0) {
    const allModels = [...new Set(executorRecords.map((e) => e.model))];
    // Any model id can be logged: the list is cut so the report stays bounded.
    const models = `${allModels.slice(0, 5).join(", ")}${allModels.length > 5 ? ` and ${allModels.length - 5} more` : ""}`;
    actualTerms.push({
      term: "executor",
      side: "actual",
      usd: costOfRecords(executorRecords),
      detail: `${plural(executorRecords.length, "call")} on ${models}`,
    });
  }
  terms.push(...actualTerms);
  if (basis === "modelled" && modelledTasks > 0) {
    const avgContext = self.turns ? contexts / self.turns : 0;
    terms.push(
      {
        term: "self-execution: planner context re-read",
        side: "counterfactual",
        usd: roundUsd(self.context_usd + self.growth_usd),
        detail: `${plural(self.turns, "planner turn")} at ${kTokens(avgContext)} context (measured at dispatch), cache-read rate`,
      },
      {
        term: "self-execution: new tokens and output",
        side: "counterfactual",
        usd: roundUsd(self.new_tokens_usd + self.output_usd),
        detail:
          "the executor's new input at the planner's cache-write rate, its output at the planner's output rate",
      },
      {
        term: "carry-over",
        side: "counterfactual",
        usd: self.carry_over_usd,
        detail: `${formatTokens(self.added_tokens)} added tokens re-read on up to ${plural(laterTurns, "later planner turn")}`,
      },
    );
    if (modelledTasks < work.size) {
      terms.push({
        term: "executor tokens at planner rates",
        side: "counterfactual",
        usd: roundUsd(repricedRest),
        detail: `lower bound for ${plural(work.size - modelledTasks, "task")} with no dispatch in the transcript`,
      });
    }
  } else if (basis === "baseline_estimate") {
    terms.push({
      term: "baseline_estimate",
      side: "counterfactual",
      usd: baselineCost,
      detail: "the planner's own estimate of an all-big run, logged with log_tokens",
    });
  } else if (executorRecords.length > 0) {
    terms.push({
      term: "executor tokens at planner rates",
      side: "counterfactual",
      usd: lowerBound === null ? null : roundUsd(lowerBound - explorationUsd),
      detail: `lower bound, planner context unknown (re-priced at ${plannerModel})`,
    });
  }

  const actualCost = actual.costUsd();
  if (actual.unpriced > 0 && actualCost !== null) {
    warnings.push(
      `${actual.unpriced} of ${actual.records} records are unpriced: actual_cost_usd $${actualCost} is a lower bound.`,
    );
  }
  const savings = savingsOf(counterfactual, actualCost);
  const savingsPct = savings !== null && counterfactual ? (savings / counterfactual) * 100 : null;

  const basisLabel = {
    modelled: "the planner doing it itself (modelled from its measured context)",
    baseline_estimate: "the planner's own baseline_estimate",
    lower_bound: "a lower bound (executor tokens at planner rates; planner context unknown)",
  }[basis];
  let verdict: string;
  if (savings === null) verdict = "Savings unknown: a price is missing (see warnings).";
  else if (savings >= 0) {
    verdict = `Delegation saved ${formatUsd(savings)} (${savingsPct === null ? "n/a" : `${savingsPct.toFixed(1)} %`}) against ${basisLabel}.`;
  } else {
    const largest = [...actualTerms].sort((a, b) => (b.usd ?? 0) - (a.usd ?? 0))[0];
    verdict = `Delegation cost more here: ${formatUsd(-savings)} more than ${basisLabel}${
      largest ? `; the largest term is ${largest.detail ?? largest.term} (${formatUsd(largest.usd)})` : ""
    }.`;
  }

  const measuredSessions = [...new Set(measuredRecords.map((e) => e.session ?? "?"))];
  const reported = mine.some(
    (e) => e.source === "reported" && !EXECUTOR_PHASES.has(e.phase) && !isSetAside(e),
  );
  const plannerSource = [
    measuredSessions.length
      ? `measured from the Claude Code transcript, session ${measuredSessions.join(", ")}`
      : "",
    reported ? "reported with log_tokens" : "",
  ]
    .filter(Boolean)
    .join("; ");

  const tasks = taskRows(input.tasks, counted);

  const byModelRows = [...byModel.entries()]
    .map(([model, t]) => ({ model, ...t.total(), ...t.subscription() }))
    .sort((a, b) => (b.cost_usd ?? -1) - (a.cost_usd ?? -1) || a.model.localeCompare(b.model));

  return {
    project,
    actual_cost_usd: actualCost,
    counterfactual_cost_usd: counterfactual,
    savings_usd: savings,
    savings_pct: savingsPct,
    by_phase: ACTUAL_PHASES.filter((p) => byPhase.has(p)).map((phase) => ({
      phase,
      ...byPhase.get(phase)!.total(),
    })),
    by_model: byModelRows,
    tasks,
    verdict,
    planner_source: plannerSource || "no planner usage recorded",
    counterfactual_basis: basis,
    terms,
    modelled_counterfactual_usd: measured ? modelled : null,
    baseline_estimate: baseline.records > 0 ? baseline.total() : null,
    repriced_counterfactual_usd: lowerBound,
    ...(setAside.size
      ? { set_aside: [...setAside.entries()].map(([phase, t]) => ({ phase, ...t.total() })) }
      : {}),
    planner_model: plannerModel,
    totals: { ...actual.total(), ...actual.subscription() },
    ...(input.catalog ? { prices: input.catalog } : {}),
    warnings,
  };
}
