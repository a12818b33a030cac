import { z } from "zod";
import type { LedgerEntry, LedgerPhase } from "./ledger-entry.js";
import { costOf, type Price, roundUsd } from "./pricing.js";

/** Phases spent by the executor; every other actual phase is the planner's. */
const EXECUTOR_PHASES: ReadonlySet<LedgerPhase> = new Set(["execution", "testing"]);
const ACTUAL_PHASES = ["exploration", "planning", "execution", "testing", "verification"] as const;

/** Line warnings beyond this many are summarized: the report is what the planner pays to read. */
const MAX_READ_WARNINGS = 10;

/**
 * Tokens, cost and record count of a group of records. Cache counts appear only when non-zero.
 * `cost_usd` sums the priced records; it is null when no record of the group has a price, and
 * `unpriced_records` says how many were left out.
 */
export const usageTotalSchema = z.object({
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  cache_read_tokens: z.number().int().nonnegative().optional(),
  cache_write_tokens: z.number().int().nonnegative().optional(),
  cost_usd: z.number().nullable(),
  records: z.number().int().nonnegative(),
  unpriced_records: z.number().int().positive().optional(),
});
export type UsageTotal = z.infer<typeof usageTotalSchema>;

const taskEstimateSchema = z.object({
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  cost_usd: z.number().nullable(),
  model: z.string(),
});

export const savingsReportSchema = z.object({
  project: z.string(),
  actual_cost_usd: z.number().nullable().describe("Every record of the project except baseline_estimate."),
  counterfactual_cost_usd: z.number().nullable().describe("What an all-big run would have cost."),
  savings_usd: z.number().nullable(),
  savings_pct: z.number().nullable(),
  by_phase: z.array(usageTotalSchema.extend({ phase: z.string() })),
  by_model: z.array(usageTotalSchema.extend({ model: z.string() })),
  tasks: z.array(
    z.object({
      id: z.string(),
      status: z.string(),
      estimate: taskEstimateSchema.nullable(),
      actual: usageTotalSchema,
      error_pct: z
        .object({ input: z.number().nullable(), output: z.number().nullable(), cost: z.number().nullable() })
        .optional()
        .describe("(actual − estimate) / estimate × 100; input counts cached tokens too."),
      attempts: z.number().int().nonnegative(),
      escalations: z.number().int().nonnegative(),
    }),
  ),
  counterfactual_basis: z
    .enum(["baseline_estimate", "repriced"])
    .describe(
      "baseline_estimate: the planner's logged estimate; repriced: executor tokens at planner rates.",
    ),
  baseline_estimate: usageTotalSchema.nullable(),
  repriced_counterfactual_usd: z.number().nullable().describe("A lower bound: a big model would read more."),
  planner_model: z.string(),
  totals: usageTotalSchema.describe("All actual records."),
  prices: z.string().optional().describe("Price catalog and overrides used."),
  warnings: z.array(z.string()),
});
export type SavingsReport = z.infer<typeof savingsReportSchema>;

export interface SavingsTaskInput {
  id: string;
  status: string;
  estimate: { input_tokens: number; output_tokens: number; cost_usd: number | null; model: string } | null;
}

export interface SavingsInput {
  project: string;
  /** Ledger records; records of other projects are ignored. */
  entries: readonly LedgerEntry[];
  /** The planner's model id, whose rates re-price the executor's tokens. */
  plannerModel: string;
  plannerPrice: Price | null;
  tasks: readonly SavingsTaskInput[];
  /** Warnings from reading the ledger (skipped lines). */
  warnings?: readonly string[];
  /** e.g. "@pydantic/genai-prices 0.1.8", shown in the report. */
  catalog?: string;
}

/** Mutable accumulator behind a UsageTotal. */
class Tally {
  input = 0;
  output = 0;
  cacheRead = 0;
  cacheWrite = 0;
  cost = 0;
  records = 0;
  unpriced = 0;

  add(e: LedgerEntry): void {
    this.input += e.input_tokens;
    this.output += e.output_tokens;
    this.cacheRead += e.cache_read_tokens;
    this.cacheWrite += e.cache_write_tokens;
    this.records++;
    if (e.cost_usd === null) this.unpriced++;
    else this.cost += e.cost_usd;
  }

  /** null when there are records and none of them is priced. */
  costUsd(): number | null {
    if (this.records > 0 && this.unpriced === this.records) return null;
    return roundUsd(this.cost);
  }

  total(): UsageTotal {
    return {
      input_tokens: this.input,
      output_tokens: this.output,
      ...(this.cacheRead ? { cache_read_tokens: this.cacheRead } : {}),
      ...(this.cacheWrite ? { cache_write_tokens: this.cacheWrite } : {}),
      cost_usd: this.costUsd(),
      records: this.records,
      ...(this.unpriced ? { unpriced_records: this.unpriced } : {}),
    };
  }
}

function tallyOf<K>(map: Map<K, Tally>, key: K): Tally {
  let t = map.get(key);
  if (!t) {
    t = new Tally();
    map.set(key, t);
  }
  return t;
}

/** (actual − estimate) / estimate × 100, one decimal; null when there is no estimate to compare. */
function errorPct(actual: number | null, estimate: number | null): number | null {
  if (actual === null || estimate === null || estimate === 0) return null;
  return Math.round(((actual - estimate) / estimate) * 1000) / 10;
}

/**
 * The savings report of one project, exactly as DESIGN.md "Tokens and money" defines it:
 * actual = every record except baseline_estimate; counterfactual = the logged baseline when there
 * is a priced one, else planner-side records at their cost plus executor tokens re-priced at the
 * planner's rates. Pure: the caller reads the ledger and the prices.
 */
export function computeSavings(input: SavingsInput): SavingsReport {
  const { project, plannerModel, plannerPrice } = input;
  const actual = new Tally();
  const baseline = new Tally();
  const plannerSide = new Tally();
  const executorSide = new Tally();
  const byPhase = new Map<LedgerPhase, Tally>();
  const byModel = new Map<string, Tally>();
  const byTask = new Map<string, { tally: Tally; attempts: Set<number>; escalations: Set<number> }>();
  const unpricedByModel = new Map<string, number>();

  for (const e of input.entries) {
    if (e.project !== project) continue;
    if (e.cost_usd === null) unpricedByModel.set(e.model, (unpricedByModel.get(e.model) ?? 0) + 1);
    if (e.phase === "baseline_estimate") {
      baseline.add(e);
      continue;
    }
    actual.add(e);
    (EXECUTOR_PHASES.has(e.phase) ? executorSide : plannerSide).add(e);
    tallyOf(byPhase, e.phase).add(e);
    tallyOf(byModel, e.model).add(e);
    if (e.task !== undefined) {
      let t = byTask.get(e.task);
      if (!t) {
        t = { tally: new Tally(), attempts: new Set(), escalations: new Set() };
        byTask.set(e.task, t);
      }
      t.tally.add(e);
      if (e.attempt !== undefined) {
        t.attempts.add(e.attempt);
        if (e.escalation) t.escalations.add(e.attempt);
      }
    }
  }

  const warnings: string[] = [];
  const readWarnings = input.warnings ?? [];
  warnings.push(...readWarnings.slice(0, MAX_READ_WARNINGS));
  if (readWarnings.length > MAX_READ_WARNINGS) {
    warnings.push(`${readWarnings.length - MAX_READ_WARNINGS} more ledger lines were skipped.`);
  }
  for (const [model, n] of unpricedByModel) {
    warnings.push(
      `${model} has no known price: ${n} record${n === 1 ? "" : "s"} with cost_usd null left out of the costs; add a price for it in delegate.config.json.`,
    );
  }

  // Re-priced all-big run: the planner-side records as they were, the executor's tokens at planner rates.
  const plannerSideCost = plannerSide.costUsd() ?? 0;
  let repriced: number | null = null;
  if (plannerPrice) {
    const executorAtPlanner =
      costOf(
        {
          input_tokens: executorSide.input,
          output_tokens: executorSide.output,
          cache_read_tokens: executorSide.cacheRead,
          cache_write_tokens: executorSide.cacheWrite,
        },
        plannerPrice,
      ) ?? 0;
    repriced = roundUsd(plannerSideCost + executorAtPlanner);
  } else if (executorSide.records > 0) {
    warnings.push(
      `The planner model ${plannerModel} has no known price, so the executor's tokens cannot be re-priced; add a price for it in delegate.config.json.`,
    );
  } else {
    repriced = roundUsd(plannerSideCost);
  }

  const baselineCost = baseline.costUsd();
  let basis: SavingsReport["counterfactual_basis"] = "repriced";
  let counterfactual = repriced;
  if (baseline.records > 0 && baselineCost !== null) {
    basis = "baseline_estimate";
    counterfactual = baselineCost;
  } else if (baseline.records > 0) {
    warnings.push(
      "The logged baseline_estimate has no known price; the re-priced counterfactual is used instead.",
    );
  }

  const actualCost = actual.costUsd();
  if (actual.unpriced > 0 && actualCost !== null) {
    warnings.push(
      `${actual.unpriced} of ${actual.records} records are unpriced: actual_cost_usd $${actualCost} is a lower bound.`,
    );
  }
  const savings =
    counterfactual !== null && actualCost !== null ? roundUsd(counterfactual - actualCost) : null;
  const savingsPct = savings !== null && counterfactual ? (savings / counterfactual) * 100 : null;

  const tasks: SavingsReport["tasks"] = [];
  const seen = new Set<string>();
  const taskRow = (id: string, status: string, estimate: SavingsTaskInput["estimate"]) => {
    const t = byTask.get(id);
    const total = (t?.tally ?? new Tally()).total();
    const row: SavingsReport["tasks"][number] = {
      id,
      status,
      estimate: estimate
        ? {
            input_tokens: estimate.input_tokens,
            output_tokens: estimate.output_tokens,
            cost_usd: estimate.cost_usd,
            model: estimate.model,
          }
        : null,
      actual: total,
      attempts: t?.attempts.size ?? 0,
      escalations: t?.escalations.size ?? 0,
    };
    if (estimate && t) {
      const actualInput =
        total.input_tokens + (total.cache_read_tokens ?? 0) + (total.cache_write_tokens ?? 0);
      row.error_pct = {
        input: errorPct(actualInput, estimate.input_tokens),
        output: errorPct(total.output_tokens, estimate.output_tokens),
        // A partly unpriced actual would understate the cost error.
        cost: total.unpriced_records ? null : errorPct(total.cost_usd, estimate.cost_usd),
      };
    }
    tasks.push(row);
  };
  for (const task of input.tasks) {
    if (seen.has(task.id)) continue;
    seen.add(task.id);
    taskRow(task.id, task.status, task.estimate);
  }
  // Records of tasks the store no longer knows still count; they are listed, not hidden.
  for (const id of byTask.keys()) if (!seen.has(id)) taskRow(id, "unknown", null);

  const byModelRows = [...byModel.entries()]
    .map(([model, t]) => ({ model, ...t.total() }))
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
    counterfactual_basis: basis,
    baseline_estimate: baseline.records > 0 ? baseline.total() : null,
    repriced_counterfactual_usd: repriced,
    planner_model: plannerModel,
    totals: actual.total(),
    ...(input.catalog ? { prices: input.catalog } : {}),
    warnings,
  };
}
