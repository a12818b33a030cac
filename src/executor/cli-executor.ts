/** The agent-CLI executors behind one call, for the dispatcher: claude-code or codex by the model's provider. */

import type { CliExecutorOptions } from "./claude-code.js";
import type { LoopOutcome } from "./loop.js";

export type { CliExecutorOptions };

/** On ledger records of a CLI run under its own login: their cost_usd is list price, not a charge. */
export const SUBSCRIPTION_NOTE = "notional list price: billed to your subscription, not charged per token";

export async function runCliExecutor(opts: CliExecutorOptions): Promise<LoopOutcome> {
  if (opts.model.provider === "claude-code") {
    const { runClaudeCode } = await import("./claude-code.js");
    return runClaudeCode(opts);
  }
  const { runCodex } = await import("./codex.js");
  return runCodex(opts);
}
