/**
 * What the agent CLI executors share after the run: the loop's outcome shape from what the CLI
 * and the server saw, so the dispatcher treats an attempt alike whichever executor ran it.
 */
import { costOf, type Price } from "../core/pricing.js";
import type { Usage } from "../core/usage.js";
import type { CliProcessResult } from "./cli-process.js";
import type { LoopOutcome, LoopStatus } from "./loop.js";
import type { ExecutorTools } from "./scope.js";

/** Bounded: stderr and CLI messages are echoed into the planner's result. */
const CLI_TEXT_CHARS = 300;

export function clip(text: string, max = CLI_TEXT_CHARS): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

export interface CliVerdict {
  status: LoopStatus;
  error?: string;
}

export function cliOutcome(
  tools: ExecutorTools,
  verdict: CliVerdict,
  run: { turns: number; usage: Usage; price: Price | null },
): LoopOutcome {
  return {
    status: verdict.status,
    turns: run.turns,
    usage: run.usage,
    cost_usd: costOf(run.usage, run.price),
    ...(tools.finished?.summary ? { report: tools.finished.summary } : {}),
    ...(verdict.error ? { error: verdict.error } : {}),
  };
}

/** The server's own reasons first (cancel, timeout, a stop it asked for), then the executor's finish. */
export function serverVerdict(
  result: CliProcessResult,
  stopStatus: LoopStatus | undefined,
  tools: ExecutorTools,
  maxFixRounds: number,
): CliVerdict | undefined {
  if (result.stop?.why === "cancelled") return { status: "cancelled", error: result.stop.reason };
  if (result.stop?.why === "timeout") return { status: "error", error: result.stop.reason };
  if (result.stop?.why === "stopped" && stopStatus && stopStatus !== "complete")
    return { status: stopStatus, error: result.stop.reason };
  if (tools.finished) return { status: tools.finished.status === "complete" ? "complete" : "failed" };
  if (tools.validations.filter((v) => !v.passed).length > maxFixRounds)
    return { status: "validation_failed" };
  return undefined;
}
