/**
 * Every goal the benchmarks hold us to, as data. A bench row names the goal it measures (`goal:
 * "<id>"`); the verdict comes from this table, never from the bench. A goal no row measured is
 * "not measured", and that counts as not met, so no figure can leave the count by going missing.
 *
 * Adding a goal: one entry here, and a row with `goal: "<id>"` from your bench module.
 */
import type { BenchRow } from "./types.js";

export interface Goal {
  group: string;
  /** What is measured, as the table shows it when no row came. */
  figure: string;
  /**
   * Which figure of the row is compared: its ratio to the reference, its value, or its excess
   * over the reference (value − reference, in the row's unit).
   */
  on: "ratio" | "value" | "excess";
  op: "≤" | "<" | "≥" | ">";
  target: number;
  /** Unit of a value goal ("ms", "tokens", "%"); ratio goals are "× reference". */
  unit?: string;
  /** Why this goal may have no row yet (shown with "not measured"). */
  pending?: string;
}

const ratio = (group: string, figure: string, target: number, pending?: string): Goal => ({
  group,
  figure,
  on: "ratio",
  op: "≤",
  target,
  ...(pending ? { pending } : {}),
});

const value = (group: string, figure: string, op: Goal["op"], target: number, unit: string): Goal => ({
  group,
  figure,
  on: "value",
  op,
  target,
  unit,
});

const excess = (group: string, figure: string, target: number, unit: string): Goal => ({
  group,
  figure,
  on: "excess",
  op: "≤",
  target,
  unit,
});

export const GOALS = {
  "server.first-call-time": ratio("server", "cold start: spawn → first real call answered, median", 1.3),
  "server.first-call-rss": ratio("server", "RSS after the first real call, median", 1.3),
  "server.tool-tokens": value("server", "tool definitions sent to the planner", "<", 2500, "tokens"),
  "server.get-task-p50": excess("server", "round trip get_task over stdio, p50", 2, "ms"),
  "server.log-tokens-p50": excess("server", "round trip log_tokens over stdio, p50", 2, "ms"),
  "dispatch.context-small": ratio("dispatch", "context efficiency: 3-line file, edit", 1.15),
  "dispatch.context-two-ranges": ratio("dispatch", "context efficiency: new file from two ranges", 1.15),
  "dispatch.context-whole-file": ratio("dispatch", "context efficiency: 120-line file read whole", 1.15),
  "dispatch.context-sweet-spot": ratio("dispatch", "context efficiency: 2,000–5,000 sweet spot", 1.15),
  "dispatch.context-big-file": ratio("dispatch", "context efficiency: 3,000-line file, 30-line range", 1.15),
  "dispatch.parallel-20": ratio("dispatch", "parallel dispatch: 20 independent tasks vs ideal", 1.3),
  "dispatch.parallel-50": ratio("dispatch", "parallel dispatch: 50 independent tasks vs ideal", 1.3),
  "dispatch.parallel-two-servers": ratio(
    "dispatch",
    "parallel dispatch: two servers on one repository vs ideal",
    1.3,
  ),
  "dispatch.result-passing": value("dispatch", "result the planner reads, passing", "≤", 300, "tokens"),
  "dispatch.result-failing": value("dispatch", "result the planner reads, failing", "≤", 1500, "tokens"),
  "cost.savings": value("cost", "fixed workload: savings against the all-big counterfactual", "≥", 60, "%"),
  "cost.cache-read-turn-2": value(
    "cost",
    "prompt-cache reads on the executor's 2nd+ turn, share of that turn's input",
    "≥",
    50,
    "%",
  ),
  "validation.runner-overhead": ratio("validation", "runCommand vs a plain spawn run the same way", 1.3),
  "validation.deadline": value(
    "validation",
    "deadline to return, timed-out process tree, worst",
    "<",
    1000,
    "ms",
  ),
  "ledger.report-1m": value("ledger", "savings report over 1,000,000 ledger records", "<", 1000, "ms"),
  "ledger.cli-report-1m": value(
    "ledger",
    "`delegate-mcp report` over 1,000,000 ledger records, spawn to exit",
    "<",
    1000,
    "ms",
  ),
  "ledger.report-3000-tasks": value("ledger", "savings_report over stdio with 3,000 tasks", "<", 1000, "ms"),
  "ledger.report-3000-bytes": value(
    "ledger",
    "savings_report answer with 3,000 tasks (text + structured), largest of the two",
    "≤",
    45_000,
    "bytes",
  ),
  "ledger.list-3000-page-bytes": value(
    "ledger",
    "list_tasks page over 3,000 tasks, largest answer",
    "≤",
    45_000,
    "bytes",
  ),
  "cli.first-request-haiku-cli": ratio(
    "cli",
    "haiku-cli (claude -p) under the CLI's own login: first request tokens vs the API executor's",
    1.5,
  ),
  "cli.first-request-codex": ratio("cli", "codex exec: first request tokens vs the API executor's", 1.5),
  "ab.split-100k": ratio(
    "a/b in Claude Code",
    "delegate ÷ self, 6-file split, ~100k planner context (68k-token padding), warm session, Sonnet + Haiku 4.5",
    0.6,
  ),
  "ab.edit-100k": ratio(
    "a/b in Claude Code",
    "delegate ÷ self, 10-target edit, ~100k planner context (68k-token padding), warm session, Sonnet + Haiku 4.5",
    0.4,
  ),
  "savings-model.transcript-import-rss": ratio(
    "savings model",
    "peak RSS importing a large Claude Code transcript vs streaming the file",
    2,
  ),
} satisfies Record<string, Goal>;

export type GoalId = keyof typeof GOALS;

export type Verdict = "met" | "not met" | "not measured" | "reference broken";

export interface GoalResult {
  id: string;
  goal: Goal;
  verdict: Verdict;
  /** The row that measured it, when one did. */
  row?: BenchRow;
}

/** "≤ 1.3× reference", "< 1,000 ms". */
export function goalText(goal: Goal): string {
  const target = goal.target.toLocaleString("en-US");
  if (goal.on === "ratio") return `${goal.op} ${target}× reference`;
  if (goal.on === "excess") return `${goal.op} reference + ${target} ${goal.unit ?? ""}`.trimEnd();
  return `${goal.op} ${target} ${goal.unit ?? ""}`.trimEnd();
}

function holds(goal: Goal, figure: number): boolean {
  switch (goal.op) {
    case "≤":
      return figure <= goal.target;
    case "<":
      return figure < goal.target;
    case "≥":
      return figure >= goal.target;
    case ">":
      return figure > goal.target;
  }
}

/** The verdict of one row against its goal; a row with a broken reference is never met. */
export function verdictOf(goal: Goal, row: BenchRow): Verdict {
  if (row.referenceBroken) return "reference broken";
  const figure =
    goal.on === "ratio"
      ? row.ratio
      : goal.on === "excess"
        ? row.reference === undefined
          ? undefined
          : row.value - row.reference
        : row.value;
  if (figure === undefined || !Number.isFinite(figure)) return "not measured";
  return holds(goal, figure) ? "met" : "not met";
}

/**
 * One result per goal of the table, in table order, unmet ones first. A row naming a goal the
 * table does not have, or two rows for one goal, is a bench bug and throws.
 */
export function evaluateGoals(
  rows: readonly BenchRow[],
  goals: Readonly<Record<string, Goal>> = GOALS,
): GoalResult[] {
  const byGoal = new Map<string, BenchRow>();
  for (const row of rows) {
    if (row.goal === undefined) continue;
    if (!(row.goal in goals)) throw new Error(`bench row "${row.name}" names unknown goal "${row.goal}"`);
    if (byGoal.has(row.goal)) throw new Error(`two bench rows measure goal "${row.goal}"`);
    byGoal.set(row.goal, row);
  }
  const results: GoalResult[] = Object.entries(goals).map(([id, goal]) => {
    const row = byGoal.get(id);
    return row ? { id, goal, verdict: verdictOf(goal, row), row } : { id, goal, verdict: "not measured" };
  });
  return [...results.filter((r) => r.verdict !== "met"), ...results.filter((r) => r.verdict === "met")];
}

export function goalSummary(results: readonly GoalResult[]): {
  met: number;
  total: number;
  unmet: GoalResult[];
} {
  const unmet = results.filter((r) => r.verdict !== "met");
  return { met: results.length - unmet.length, total: results.length, unmet };
}
