import { costOf, type Price, roundUsd } from "./pricing.js";
import { type Usage, zeroUsage } from "./usage.js";

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
  return costOf({ ...zeroUsage(), ...usage }, price) ?? 0;
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
  let sum = 0;
  // Whole usages: costOf directly, without usd()'s copy onto zeroUsage() (this runs per record).
  for (const u of turns) sum += costOf(u, price) ?? 0;
  return roundUsd(sum);
}

/**
 * A delegation before it happens, for should_delegate's band and the bench's "when does this save
 * money?" table. Token figures default to the fixed bench workload's shape (one small edit per task).
 */
export interface DelegationScenario {
  tasks: number;
  /** One spec expanded over many targets (repetitive edits): one spec turn and one review for all. */
  templated: boolean;
  /** The planner's context (input + cache tokens) while it delegates. */
  plannerContext: number;
  plannerPrice: Price;
  executorPrice: Price;
  /** Executor calls per task. */
  executorTurns?: number;
  /** The executor's first input per task: its prompt, the spec and the file excerpts. */
  taskTokens?: number;
  /** New tokens per later executor turn (tool results). */
  turnTokens?: number;
  outputPerTurn?: number;
  /** Planner output per spec written. */
  specOutput?: number;
  /** Tokens of dispatch result and review the planner reads per task. */
  resultTokens?: number;
  /** Planner turns of the session after the work, re-reading what it added. */
  laterTurns?: number;
}

export interface ScenarioCost {
  actual_usd: number;
  counterfactual_usd: number;
  savings_pct: number;
}

export const SCENARIO_DEFAULTS = {
  executorTurns: 3,
  taskTokens: 3000,
  turnTokens: 300,
  outputPerTurn: 150,
  specOutput: 700,
  resultTokens: 400,
  laterTurns: 10,
} as const;

/** Savings of delegating `s` against the planner doing it itself, exploration left out (it is in both). */
export function scenarioCost(s: DelegationScenario): ScenarioCost {
  const d = { ...SCENARIO_DEFAULTS, ...s };
  const turns: Usage[] = [];
  let sent = 0;
  for (let i = 0; i < d.executorTurns; i++) {
    sent += i === 0 ? d.taskTokens : d.turnTokens + d.outputPerTurn;
    turns.push({
      input_tokens: sent,
      output_tokens: d.outputPerTurn,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
    });
  }
  const executor = repricedCost(turns, d.executorPrice) * d.tasks;
  // Planner turns of the delegation: spec writing, one dispatch, reviews; each re-reads the context.
  const specTurns = d.templated ? 1 : d.tasks;
  const reviewTurns = d.templated ? Math.ceil(d.tasks / 10) : d.tasks;
  const plannerTurns = specTurns + 1 + reviewTurns;
  const added = specTurns * d.specOutput + d.tasks * d.resultTokens;
  const overhead =
    usd({ cache_read_tokens: plannerTurns * d.plannerContext }, d.plannerPrice) +
    usd({ output_tokens: specTurns * d.specOutput + (1 + reviewTurns) * 100 }, d.plannerPrice) +
    usd({ cache_write_tokens: d.tasks * d.resultTokens }, d.plannerPrice) +
    usd({ cache_read_tokens: added * d.laterTurns }, d.plannerPrice);
  const self =
    selfExecutionTotal(selfExecution(turns, d.plannerContext, d.laterTurns, d.plannerPrice)) * d.tasks;
  const actual = roundUsd(executor + overhead);
  const counterfactual = roundUsd(self);
  return {
    actual_usd: actual,
    counterfactual_usd: counterfactual,
    savings_pct: counterfactual > 0 ? ((counterfactual - actual) / counterfactual) * 100 : 0,
  };
}

/** Planner contexts the band spans: Claude Code's floor with one MCP server (measured) to a long session. */
export const BAND_CONTEXTS = [32_000, 120_000] as const;

/** [low, high] savings in whole percent across BAND_CONTEXTS. */
export function expectedSavingsBand(s: Omit<DelegationScenario, "plannerContext">): [number, number] {
  const pcts = BAND_CONTEXTS.map((plannerContext) =>
    Math.round(scenarioCost({ ...s, plannerContext }).savings_pct),
  );
  return [Math.min(...pcts), Math.max(...pcts)];
}
