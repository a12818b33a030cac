import { costOf, type Price, roundUsd } from "./pricing.js";
import type { Usage } from "./usage.js";

/**
 * "The planner does it itself" (DESIGN "Tokens and money"): what a delegated task would have
 * cost had the planner done the executor's work in its own session.
 */

export interface SelfExecution {
  /** Each executor turn as a planner turn re-reading the planner's context at dispatch (cache-read rate). */
  context_usd: number;
  /** Re-reading what earlier turns of the task added (cache-read rate). */
  growth_usd: number;
  /** Each turn's new tokens (cache-write rate, else input). */
  new_tokens_usd: number;
  /** The executor's output at the planner's output rate. */
  output_usd: number;
  /** The tokens the task added to the planner's context, re-read on each later planner turn. */
  carry_over_usd: number;
  /** Tokens the task would have added to the planner's context. */
  added_tokens: number;
  turns: number;
}

const tokensIn = (u: Usage) => u.input_tokens + u.cache_read_tokens + u.cache_write_tokens;

/** Per turn, the tokens that were new to the executor: the growth of its input since the turn before. */
export function newTokensPerTurn(turns: readonly Usage[]): number[] {
  return turns.map((u, i) => {
    if (i === 0) return tokensIn(u);
    const prev = turns[i - 1]!;
    return Math.max(0, tokensIn(u) - tokensIn(prev) - prev.output_tokens);
  });
}

function usd(usage: Partial<Usage>, price: Price): number {
  return (
    costOf(
      { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, ...usage },
      price,
    ) ?? 0
  );
}

/**
 * The self-execution of one task: `turns` are the executor's calls in order, `context` the
 * planner's context (input + cache tokens) when it dispatched, `laterTurns` the planner turns of
 * the session that came after and would have re-read what the task added.
 */
export function selfExecution(
  turns: readonly Usage[],
  context: number,
  laterTurns: number,
  price: Price,
): SelfExecution {
  const fresh = newTokensPerTurn(turns);
  let grown = 0;
  let growthTokens = 0;
  let newTokens = 0;
  let output = 0;
  for (const [i, u] of turns.entries()) {
    growthTokens += grown;
    newTokens += fresh[i]!;
    output += u.output_tokens;
    grown += fresh[i]! + u.output_tokens;
  }
  return {
    context_usd: roundUsd(usd({ cache_read_tokens: context * turns.length }, price)),
    growth_usd: roundUsd(usd({ cache_read_tokens: growthTokens }, price)),
    new_tokens_usd: roundUsd(usd({ cache_write_tokens: newTokens }, price)),
    output_usd: roundUsd(usd({ output_tokens: output }, price)),
    carry_over_usd: roundUsd(usd({ cache_read_tokens: grown * laterTurns }, price)),
    added_tokens: grown,
    turns: turns.length,
  };
}

export function selfExecutionTotal(s: SelfExecution): number {
  return roundUsd(s.context_usd + s.growth_usd + s.new_tokens_usd + s.output_usd + s.carry_over_usd);
}

/** The lower bound: the executor's tokens as they were, at the planner's rates. */
export function repricedCost(turns: readonly Usage[], price: Price): number {
  return roundUsd(turns.reduce((sum, u) => sum + usd(u, price), 0));
}
