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

export function shouldDelegate(q: DelegationQuestion): DelegationAnswer {
  if (q.needs_user_input)
    return {
      decision: "big_model",
      rationale: "It needs the user's input: the planner must hold that conversation; a small model cannot.",
      expected_savings_pct: [0, 0],
    };
  if (q.needs_exploration)
    return {
      decision: "big_model",
      rationale:
        "It needs exploration first: the planner reads the code; delegate only once the edits are specified.",
      expected_savings_pct: [0, 0],
    };
  if (!q.well_defined)
    return {
      decision: "ask_user",
      rationale: "The goal is not well defined: clarify it with the user, then decide again.",
      expected_savings_pct: [0, 0],
    };
  if (q.repetitive_edit_count >= 10)
    return {
      decision: "delegate",
      rationale: `${q.repetitive_edit_count} repetitive edits: one precise spec, many cheap executions.`,
      expected_savings_pct: [60, 80],
    };
  if (q.multi_file && q.atomic_task_count >= 5)
    return {
      decision: "delegate",
      rationale: `Multi-file work that splits into ${q.atomic_task_count} atomic tasks: specify each, run them in parallel.`,
      expected_savings_pct: [40, 60],
    };
  if (q.multi_file)
    return {
      decision: "big_model",
      rationale: `Multi-file work with only ${q.atomic_task_count} atomic task(s): too entangled to specify cheaply; do it yourself.`,
      expected_savings_pct: [0, 0],
    };
  return {
    decision: "current_model",
    rationale:
      "A small, single-file change: the delegation overhead is not worth it; do it in the current model.",
    expected_savings_pct: [0, 0],
  };
}
