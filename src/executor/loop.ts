import { messageOf } from "../core/errors.js";
import { EXECUTOR_TOOLS } from "../core/executor-tools.js";
import { costOf, type Price } from "../core/pricing.js";
import { addUsage, type Usage, zeroUsage } from "../core/usage.js";
import { type ChatModel, type Completion, isProviderError, type Message } from "../providers/types.js";
import type { ExecutorTools } from "./scope.js";

export const DEFAULT_MAX_TURNS = 12;
export const DEFAULT_MAX_OUTPUT_TOKENS = 8192;
/** A call may not be made with less room than this for the answer. */
const MIN_OUTPUT_TOKENS = 512;
/** Rough chars per token for the worst-case budget check (conservative: overestimates tokens). */
const CHARS_PER_TOKEN = 3;

export type LoopStatus =
  | "complete"
  | "failed"
  | "validation_failed"
  | "budget_exceeded"
  | "cancelled"
  | "error";

export interface LoopOptions {
  model: ChatModel;
  price: Price | null;
  system: string;
  user: string;
  tools: ExecutorTools;
  maxTurns?: number;
  /** Failed run_validation calls tolerated before the loop stops (the workflow: report, don't debug). */
  maxFixRounds?: number;
  /** USD cap for this attempt; a call whose worst case would exceed it is not made. */
  budgetUsd?: number | undefined;
  /** Token cap (input + output, all turns) for this attempt. */
  maxTokens?: number | undefined;
  maxOutputTokens?: number;
  signal?: AbortSignal;
  /** After every model call, failed or not: its usage (zero when it failed) — for the ledger. */
  onCall?: (usage: Usage, error?: string) => Promise<void> | void;
  onTurn?: (turn: number, maxTurns: number) => void;
}

export interface LoopOutcome {
  status: LoopStatus;
  turns: number;
  usage: Usage;
  cost_usd: number | null;
  /** The executor's own report (finish summary), if it gave one. */
  report?: string;
  /** Why the loop ended early, in one sentence. */
  error?: string;
}

/** Why the attempt was cancelled: the abort reason (client cancel, server shutdown). */
function cancelReason(signal: AbortSignal | undefined): string {
  const reason = signal?.reason;
  if (reason instanceof Error && reason.name !== "AbortError") return reason.message;
  if (typeof reason === "string" && reason) return reason;
  return "cancelled by the client";
}

/** The conversation grows by appending; its size is kept as it grows, not recounted each turn. */
class Conversation {
  readonly messages: Message[] = [];
  private size: number;

  constructor(system: string, first: Message) {
    this.size = system.length + JSON.stringify(EXECUTOR_TOOLS).length;
    this.push(first);
  }

  push(m: Message): void {
    this.messages.push(m);
    this.size += JSON.stringify(m).length;
  }

  /** Characters sent per request: system prompt, tools and messages. */
  get chars(): number {
    return this.size;
  }
}

/**
 * The bounded tool-use loop of one attempt. Ends when the executor calls finish, when validation
 * fails more often than maxFixRounds allows, at max_turns, at the budget, on cancel, or on a
 * provider error. It never decides pass/fail itself: the dispatcher re-checks everything.
 */
export async function runLoop(opts: LoopOptions): Promise<LoopOutcome> {
  const maxTurns = opts.maxTurns ?? DEFAULT_MAX_TURNS;
  const maxFixRounds = opts.maxFixRounds ?? 0;
  const conversation = new Conversation(opts.system, { role: "user", content: opts.user });
  let usage = zeroUsage();
  let turns = 0;
  let nudges = 0;
  const outcome = (status: LoopStatus, extra: Partial<LoopOutcome> = {}): LoopOutcome => ({
    status,
    turns,
    usage,
    cost_usd: costOf(usage, opts.price),
    ...(opts.tools.finished?.summary ? { report: opts.tools.finished.summary } : {}),
    ...extra,
  });

  while (turns < maxTurns) {
    if (opts.signal?.aborted) return outcome("cancelled", { error: cancelReason(opts.signal) });
    const promptTokens = Math.ceil(conversation.chars / CHARS_PER_TOKEN);
    let maxOut = opts.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
    if (opts.maxTokens !== undefined) {
      const used =
        usage.input_tokens + usage.output_tokens + usage.cache_read_tokens + usage.cache_write_tokens;
      maxOut = Math.min(maxOut, opts.maxTokens - used - promptTokens);
    }
    if (opts.budgetUsd !== undefined && opts.price) {
      const spent = costOf(usage, opts.price) ?? 0;
      const inputCost = (promptTokens * opts.price.input_per_mtok) / 1e6;
      const room = opts.budgetUsd - spent - inputCost;
      maxOut = Math.min(maxOut, Math.floor((room * 1e6) / opts.price.output_per_mtok));
    }
    if (maxOut < MIN_OUTPUT_TOKENS) {
      return outcome("budget_exceeded", {
        error: `the next call's worst case would exceed the task's budget (after ${turns} turn(s)); raise budget_usd or split the task.`,
      });
    }
    turns++;
    opts.onTurn?.(turns, maxTurns);
    let completion: Completion;
    try {
      completion = await opts.model.complete({
        system: opts.system,
        messages: conversation.messages,
        tools: EXECUTOR_TOOLS,
        maxTokens: maxOut,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      // A call that broke off mid-stream may already have been billed: keep what the provider reported.
      const billed = isProviderError(err) && err.usage ? err.usage : zeroUsage();
      usage = addUsage(usage, billed);
      await opts.onCall?.(billed, messageOf(err));
      if (opts.signal?.aborted || (isProviderError(err) && err.kind === "aborted"))
        return outcome("cancelled", { error: cancelReason(opts.signal) });
      return outcome("error", { error: messageOf(err) });
    }
    usage = addUsage(usage, completion.usage);
    await opts.onCall?.(completion.usage);
    conversation.push({
      role: "assistant",
      content: completion.content,
      ...(completion.toolCalls.length ? { toolCalls: completion.toolCalls } : {}),
    });

    if (completion.toolCalls.length === 0) {
      if (completion.stopReason === "max_tokens")
        return outcome("error", {
          error: "the executor's answer hit the output token limit; split the task.",
        });
      if (++nudges > 2)
        return outcome("failed", {
          error: "the executor stopped without calling finish.",
          report: completion.content,
        });
      conversation.push({
        role: "user",
        content: "Use the tools. When you are done, call finish with status and summary.",
      });
      continue;
    }

    const results: { toolCallId: string; content: string; isError?: boolean }[] = [];
    for (const call of completion.toolCalls) {
      if (opts.signal?.aborted) return outcome("cancelled", { error: cancelReason(opts.signal) });
      const reply = await opts.tools.call(call);
      results.push({
        toolCallId: call.id,
        content: reply.content,
        ...(reply.isError ? { isError: true } : {}),
      });
    }
    conversation.push({ role: "tool", results });
    if (opts.signal?.aborted) return outcome("cancelled", { error: cancelReason(opts.signal) });
    if (opts.tools.finished)
      return outcome(opts.tools.finished.status === "complete" ? "complete" : "failed");
    const failedRuns = opts.tools.validations.filter((v) => !v.passed).length;
    if (failedRuns > maxFixRounds) return outcome("validation_failed");
  }
  return outcome("budget_exceeded", {
    error: `max_turns (${maxTurns}) reached before the executor finished.`,
  });
}
