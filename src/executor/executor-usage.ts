/**
 * The ledger record of each executor model call, written as the call returns (DESIGN "Tokens and
 * money"): measured usage priced at the model's rate. Under a CLI executor's own login (no key
 * configured) the list-price cost is notional, and every record says so: `billing:
 * "subscription"` for the report, and the note for readers of ledgers from before that field.
 */
import type { ResolvedModel } from "../config/models.js";
import { messageOf } from "../core/errors.js";
import { SUBSCRIPTION_NOTE } from "../core/ledger-entry.js";
import type { StoredTask } from "../core/mini-task.js";
import type { Usage } from "../core/usage.js";
import { log } from "../log.js";
import type { Ledger } from "../store/ledger.js";
import { pricedEntry } from "../store/report.js";

export interface CallExtra {
  error?: string;
  escalation?: boolean;
  /** The executor's own note on the call (a CLI's, e.g. its reported cost). */
  note?: string;
}

/** One model call into the ledger; a failed append is logged (the attempt's usage still holds it). */
export async function recordExecutorCall(
  call: { ledger: Ledger; now: Date; task: StoredTask; attempt: number; model: ResolvedModel; usage: Usage },
  extra: CallExtra,
): Promise<void> {
  const { model } = call;
  const subscription = model.cli !== undefined && !model.cli.apiKeyConfigured;
  const note = [subscription ? SUBSCRIPTION_NOTE : undefined, extra.note].filter(Boolean).join("; ");
  try {
    const entry = await pricedEntry({
      project: call.task.project,
      task: call.task.id,
      attempt: call.attempt,
      phase: "execution",
      model,
      usage: call.usage,
      source: "measured",
      origin: model.cli ? model.cli.provider : "executor-api",
      now: call.now,
      ...(extra.error !== undefined ? { error: extra.error } : {}),
      ...(extra.escalation !== undefined ? { escalation: extra.escalation } : {}),
      ...(note ? { note } : {}),
      ...(subscription ? { billing: "subscription" as const } : {}),
    });
    await call.ledger.append(entry);
  } catch (err) {
    // Keep going: the attempt's own usage record still holds these tokens.
    log.error(`ledger append failed for ${call.task.id}: ${messageOf(err)}`);
  }
}
