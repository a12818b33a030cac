import { expectedSavingsBand } from "./counterfactual.js";
import type { Price } from "./pricing.js";

/** The workflow's decision tree (DESIGN "Contract details"): first match wins. */
export interface DelegationQuestion {
  well_defined: boolean;
  repetitive_edit_count: number;
  needs_exploration: boolean;
  multi_file: boolean;
  atomic_task_count: number;
  needs_user_input: boolean;
}

export type Decision = "delegate" | "big_model" | "current_model" | "ask_user";

export interface DelegationAnswer {
  decision: Decision;
  rationale: string;
  expected_savings_pct: [number, number];
}

/** The planner's and the executor's rates the savings band is modelled with. */
export interface DelegationPrices {
  planner: Price;
  executor: Price;
}

/**
 * The decision, with the expected savings of delegating modelled (core/counterfactual) from the
 * task count, planner contexts of 32k–120k and the two models' prices. Where nothing can be
 * delegated yet (user input, exploration, an unclear goal) the band is [0, 0].
 */
export function shouldDelegate(q: DelegationQuestion, prices?: DelegationPrices | null): DelegationAnswer {
  const { band, ...answer } = decide(q);
  if (band === "none") return { ...answer, expected_savings_pct: [0, 0] };
  if (!prices) {
    return {
      ...answer,
      rationale: `${answer.rationale} (No savings band: a model's price is unknown.)`,
      expected_savings_pct: [0, 0],
    };
  }
  const repetitive = q.repetitive_edit_count >= 10;
  return {
    ...answer,
    expected_savings_pct: expectedSavingsBand({
      tasks: Math.max(1, repetitive ? q.repetitive_edit_count : q.atomic_task_count),
      templated: repetitive,
      plannerPrice: prices.planner,
      executorPrice: prices.executor,
    }),
  };
}

/** band "none": nothing to delegate yet, or too entangled to model as independent tasks. */
type Decided = Omit<DelegationAnswer, "expected_savings_pct"> & { band: "none" | "modelled" };

function decide(q: DelegationQuestion): Decided {
  if (q.needs_user_input)
    return {
      decision: "big_model",
      rationale: "It needs the user's input: the planner must hold that conversation; a small model cannot.",
      band: "none",
    };
  if (q.needs_exploration)
    return {
      decision: "big_model",
      rationale:
        "It needs exploration first: the planner reads the code; delegate only once the edits are specified.",
      band: "none",
    };
  if (!q.well_defined)
    return {
      decision: "ask_user",
      rationale: "The goal is not well defined: clarify it with the user, then decide again.",
      band: "none",
    };
  if (q.repetitive_edit_count >= 10)
    return {
      decision: "delegate",
      rationale: `${q.repetitive_edit_count} repetitive edits: one precise spec, many cheap executions.`,
      band: "modelled",
    };
  if (q.multi_file && q.atomic_task_count >= 5)
    return {
      decision: "delegate",
      rationale: `Multi-file work that splits into ${q.atomic_task_count} atomic tasks: specify each, run them in parallel.`,
      band: "modelled",
    };
  if (q.multi_file)
    return {
      decision: "big_model",
      rationale: `Multi-file work with only ${q.atomic_task_count} atomic task(s): too entangled to specify cheaply; do it yourself.`,
      band: "none",
    };
  return {
    decision: "current_model",
    rationale:
      "A small, single-file change: the delegation overhead is not worth it; do it in the current model.",
    band: "modelled",
  };
}
