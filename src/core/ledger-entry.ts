import { z } from "zod";
import type { Usage } from "./usage.js";

/** The phases log_tokens accepts. `baseline_estimate` is the planner's all-big estimate, never spent. */
export const LOGGED_PHASES = [
  "exploration",
  "planning",
  "delegation",
  "execution",
  "testing",
  "verification",
  "baseline_estimate",
] as const;

/**
 * Where the tokens went: the logged phases, and `other`, planner usage of a client session outside
 * any delegation project (imported from its transcript, never logged by hand).
 */
export const LEDGER_PHASES = [...LOGGED_PHASES, "other"] as const;
export type LedgerPhase = (typeof LEDGER_PHASES)[number];

/** Where a record's figures came from. */
export const LEDGER_ORIGINS = [
  "executor-api",
  "claude-code",
  "codex",
  "client-transcript",
  "log_tokens",
] as const;

/** The project of client-transcript records that belong to no delegation project (not a valid slug). */
export const NO_PROJECT = "(none)";

/**
 * How a record's tokens are paid for. subscription: a CLI executor (claude-code, codex) under the
 * CLI's own login, no API key configured: its cost_usd is the list-price value, not a charge.
 */
export const LEDGER_BILLINGS = ["subscription"] as const;

/** What a subscription's usage costs the user: the words the note and the report share. */
export const SUBSCRIPTION_BILLED = "billed to your subscription, not charged per token";

/** On ledger records of a CLI run under its own login: their cost_usd is list price, not a charge. */
export const SUBSCRIPTION_NOTE = `notional list price: ${SUBSCRIPTION_BILLED}`;

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
  origin: z.enum(LEDGER_ORIGINS).optional(),
  billing: z
    .enum(LEDGER_BILLINGS)
    .optional()
    .describe("subscription: a CLI executor under its own login; cost_usd is notional list price."),
  session: z.string().min(1).optional().describe("The client session a client-transcript record came from."),
  message_ids: z.array(z.string().min(1)).optional().describe("The client's API message ids it counts."),
  request_id: z
    .string()
    .min(1)
    .optional()
    .describe("With the message id, the key that keeps a re-import from counting twice."),
  sidechain: z.boolean().optional().describe("A subagent's message (planner-side usage)."),
  tools: z.array(z.string().min(1)).optional().describe("The delegate tools the message called."),
};

/** One line of mini-projects/ledger.jsonl (schemas/ledger-entry.schema.json is generated from it). */
export const ledgerEntrySchema = z.object(ledgerEntryShape).strict();
export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;

/**
 * What a reader accepts: the same fields, unknown ones dropped, so a ledger written by a newer
 * version with an extra field still counts every record.
 */
export const ledgerEntryReadSchema = z.object(ledgerEntryShape);

/**
 * ledgerEntryReadSchema compiled into one generated function (z.compile: the same records and the
 * same issues; a line it rejects is answered by the schema itself), made on first use. A report
 * parses thousands of lines in a process that just started, where the compiled parse is several
 * times faster than the schema's own before the JIT has warmed up.
 */
let compiledReadSchema: typeof ledgerEntryReadSchema | undefined;

/**
 * A record billed to a CLI subscription: marked `billing: "subscription"`, or (ledgers written
 * before that field) carrying SUBSCRIPTION_NOTE in its note.
 */
export function isSubscription(entry: LedgerEntry): boolean {
  return entry.billing === "subscription" || (entry.note?.includes(SUBSCRIPTION_NOTE) ?? false);
}

/** The usage part of an entry. */
export function usageOf(entry: LedgerEntry): Usage {
  return {
    input_tokens: entry.input_tokens,
    output_tokens: entry.output_tokens,
    cache_read_tokens: entry.cache_read_tokens,
    cache_write_tokens: entry.cache_write_tokens,
  };
}

/**
 * One ledger line: the record, a warning naming the line when it is not one, or undefined for a
 * blank line. `name` is the ledger's file name, for the warning.
 */
export function parseLedgerLine(
  line: string,
  lineNo: number,
  name: string,
): LedgerEntry | string | undefined {
  if (line.trim() === "") return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return `${name} line ${lineNo} is not valid JSON; skipped.`;
  }
  compiledReadSchema ??= z.compile(ledgerEntryReadSchema);
  const parsed = compiledReadSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join(".") || "(record)";
    return `${name} line ${lineNo} is not a ledger record (${field}: ${issue.message}); skipped.`;
  }
  return parsed.data;
}
