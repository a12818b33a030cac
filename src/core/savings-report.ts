/**
 * What savings_report answers: the report's schema and types, and the tally behind each of its
 * usage totals. The computation is savings.ts.
 */
import { z } from "zod";
import { isSubscription, type LedgerEntry } from "./ledger-entry.js";
import { roundUsd } from "./pricing.js";

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

/**
 * The part of a group billed to a CLI subscription (a CLI executor under its own login), present
 * only when there is one: its cost is notional list price, still counted in cost_usd.
 */
const subscriptionShape = {
  subscription_records: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("Records billed to your subscription, not charged per token (CLI executor, own login)."),
  subscription_tokens: z.number().int().nonnegative().optional().describe("Their tokens, cache included."),
  subscription_cost_usd: z
    .number()
    .nullable()
    .optional()
    .describe("Their notional list price, part of cost_usd; null when unpriced."),
};
export type SubscriptionTotal = z.infer<z.ZodObject<typeof subscriptionShape>>;

const taskEstimateSchema = z.object({
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  cost_usd: z.number().nullable(),
  model: z.string(),
});

export const COUNTERFACTUAL_BASES = ["modelled", "baseline_estimate", "lower_bound"] as const;
export type CounterfactualBasis = (typeof COUNTERFACTUAL_BASES)[number];

const termSchema = z.object({
  term: z.string(),
  side: z.enum(["actual", "counterfactual", "both"]),
  usd: z.number().nullable(),
  detail: z.string().optional(),
});
export type SavingsTerm = z.infer<typeof termSchema>;

export const savingsReportSchema = z.object({
  project: z.string(),
  actual_cost_usd: z
    .number()
    .nullable()
    .describe("Every counted record of the project except baseline_estimate."),
  counterfactual_cost_usd: z
    .number()
    .nullable()
    .describe("What the planner doing it itself would have cost."),
  savings_usd: z.number().nullable().describe("counterfactual − actual; negative when delegation cost more."),
  savings_pct: z.number().nullable(),
  by_phase: z.array(usageTotalSchema.extend({ phase: z.string() })),
  by_model: z.array(usageTotalSchema.extend({ model: z.string(), ...subscriptionShape })),
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
  verdict: z
    .string()
    .describe("One sentence: saved or cost more, against which basis, and the largest term."),
  planner_source: z.string().describe("Where the planner's figures come from."),
  counterfactual_basis: z
    .enum(COUNTERFACTUAL_BASES)
    .describe(
      "modelled: self-execution from the planner's measured context; baseline_estimate: the planner's own estimate; lower_bound: executor tokens at planner rates, planner context unknown.",
    ),
  terms: z.array(termSchema).describe("Each cost term, which side it is on and how it was found."),
  modelled_counterfactual_usd: z.number().nullable(),
  baseline_estimate: usageTotalSchema.nullable(),
  repriced_counterfactual_usd: z
    .number()
    .nullable()
    .describe("Lower bound: exploration plus the executor's tokens at planner rates."),
  set_aside: z
    .array(usageTotalSchema.extend({ phase: z.string() }))
    .optional()
    .describe("Reported (log_tokens) records not counted: measured records cover their phase."),
  planner_model: z.string(),
  totals: usageTotalSchema.extend(subscriptionShape).describe("All counted actual records."),
  prices: z.string().optional().describe("Price catalog and overrides used."),
  warnings: z.array(z.string()),
});
export type SavingsReport = z.infer<typeof savingsReportSchema>;

/** Mutable accumulator behind a UsageTotal. */
export class Tally {
  input = 0;
  output = 0;
  cacheRead = 0;
  cacheWrite = 0;
  cost = 0;
  records = 0;
  unpriced = 0;
  /** The records billed to a CLI subscription, already counted above too. */
  private readonly sub = { records: 0, tokens: 0, cost: 0, unpriced: 0 };

  add(e: LedgerEntry): void {
    this.input += e.input_tokens;
    this.output += e.output_tokens;
    this.cacheRead += e.cache_read_tokens;
    this.cacheWrite += e.cache_write_tokens;
    this.records++;
    if (e.cost_usd === null) this.unpriced++;
    else this.cost += e.cost_usd;
    if (isSubscription(e)) {
      this.sub.records++;
      this.sub.tokens += e.input_tokens + e.output_tokens + e.cache_read_tokens + e.cache_write_tokens;
      if (e.cost_usd === null) this.sub.unpriced++;
      else this.sub.cost += e.cost_usd;
    }
  }

  /** The subscription figures (for by_model rows and the totals): none when no record has one. */
  subscription(): SubscriptionTotal {
    const s = this.sub;
    if (s.records === 0) return {};
    return {
      subscription_records: s.records,
      subscription_tokens: s.tokens,
      subscription_cost_usd: s.unpriced === s.records ? null : roundUsd(s.cost),
    };
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

export function tallyOf<K>(map: Map<K, Tally>, key: K): Tally {
  let t = map.get(key);
  if (!t) {
    t = new Tally();
    map.set(key, t);
  }
  return t;
}
