import { z } from "zod";
import type { Usage } from "./usage.js";

/** Where the tokens went. `baseline_estimate` is the planner's all-big estimate, never spent. */
export const LEDGER_PHASES = [
  "exploration",
  "planning",
  "execution",
  "testing",
  "verification",
  "baseline_estimate",
] as const;
export type LedgerPhase = (typeof LEDGER_PHASES)[number];

/** measured: from the API's own usage; reported: logged by the planner; estimated: a guess. */
export const LEDGER_SOURCES = ["measured", "reported", "estimated"] as const;
export type LedgerSource = (typeof LEDGER_SOURCES)[number];

const tokens = z.number().int().nonnegative();

const ledgerEntryShape = {
  ts: z.iso.datetime({ offset: true }).describe("When the tokens were spent, ISO 8601."),
  project: z.string().min(1),
  task: z.string().min(1).optional().describe("Task id, e.g. split-todoist/03-move-parser."),
  attempt: z.number().int().positive().optional().describe("The task's attempt number."),
  phase: z.enum(LEDGER_PHASES),
  model: z.string().min(1).describe("The provider's model id."),
  provider: z.string().min(1),
  input_tokens: tokens.describe("Uncached input tokens (cached ones are counted separately)."),
  output_tokens: tokens,
  cache_read_tokens: tokens,
  cache_write_tokens: tokens,
  cost_usd: z.number().nonnegative().nullable().describe("null when the model has no known price."),
  source: z.enum(LEDGER_SOURCES),
  note: z.string().optional(),
  escalation: z.boolean().optional().describe("The attempt was an escalation to a bigger model."),
  error: z.string().optional().describe("The call or attempt failed; its usage still counts."),
};

/** One line of mini-projects/ledger.jsonl (schemas/ledger-entry.schema.json is generated from it). */
export const ledgerEntrySchema = z.object(ledgerEntryShape).strict();
export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;

/**
 * What a reader accepts: the same fields, unknown ones dropped, so a ledger written by a newer
 * version with an extra field still counts every record.
 */
export const ledgerEntryReadSchema = z.object(ledgerEntryShape);

/** The usage part of an entry. */
export function usageOf(entry: LedgerEntry): Usage {
  return {
    input_tokens: entry.input_tokens,
    output_tokens: entry.output_tokens,
    cache_read_tokens: entry.cache_read_tokens,
    cache_write_tokens: entry.cache_write_tokens,
  };
}
