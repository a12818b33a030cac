/** The report's task rows: each task's estimate against what its records add up to. */
import type { LedgerEntry } from "./ledger-entry.js";
import { type SavingsReport, Tally } from "./savings-report.js";

export interface SavingsTaskInput {
  id: string;
  status: string;
  estimate: { input_tokens: number; output_tokens: number; cost_usd: number | null; model: string } | null;
}

/** A task's records, summed, with the attempts and escalations they belong to. */
export interface TaskTally {
  tally: Tally;
  attempts: Set<number>;
  escalations: Set<number>;
}

/** (actual − estimate) / estimate × 100, one decimal; null when there is no estimate to compare. */
function errorPct(actual: number | null, estimate: number | null): number | null {
  if (actual === null || estimate === null || estimate === 0) return null;
  return Math.round(((actual - estimate) / estimate) * 1000) / 10;
}

/** Each task's counted records, summed, in the order the tasks first appear. */
function taskTallies(counted: readonly LedgerEntry[]): Map<string, TaskTally> {
  const byTask = new Map<string, TaskTally>();
  for (const e of counted) {
    if (e.task === undefined) continue;
    let t = byTask.get(e.task);
    if (!t) {
      t = { tally: new Tally(), attempts: new Set(), escalations: new Set() };
      byTask.set(e.task, t);
    }
    t.tally.add(e);
    if (e.attempt !== undefined) {
      t.attempts.add(e.attempt);
      if (e.escalation) t.escalations.add(e.attempt);
    }
  }
  return byTask;
}

/**
 * One row per task the store knows (first listing wins), then one per task that only the ledger
 * still knows: its records count, and are listed, not hidden. `counted` are the records the
 * report's actual cost counts, in ledger order.
 */
export function taskRows(
  known: readonly SavingsTaskInput[],
  counted: readonly LedgerEntry[],
): SavingsReport["tasks"] {
  const byTask = taskTallies(counted);
  const tasks: SavingsReport["tasks"] = [];
  const seen = new Set<string>();
  const taskRow = (id: string, status: string, estimate: SavingsTaskInput["estimate"]) => {
    const t = byTask.get(id);
    const total = (t?.tally ?? new Tally()).total();
    const row: SavingsReport["tasks"][number] = {
      id,
      status,
      estimate: estimate
        ? {
            input_tokens: estimate.input_tokens,
            output_tokens: estimate.output_tokens,
            cost_usd: estimate.cost_usd,
            model: estimate.model,
          }
        : null,
      actual: total,
      attempts: t?.attempts.size ?? 0,
      escalations: t?.escalations.size ?? 0,
    };
    if (estimate && t) {
      const actualInput =
        total.input_tokens + (total.cache_read_tokens ?? 0) + (total.cache_write_tokens ?? 0);
      row.error_pct = {
        input: errorPct(actualInput, estimate.input_tokens),
        output: errorPct(total.output_tokens, estimate.output_tokens),
        // A partly unpriced actual would understate the cost error.
        cost: total.unpriced_records ? null : errorPct(total.cost_usd, estimate.cost_usd),
      };
    }
    tasks.push(row);
  };
  for (const task of known) {
    if (seen.has(task.id)) continue;
    seen.add(task.id);
    taskRow(task.id, task.status, task.estimate);
  }
  for (const id of byTask.keys()) if (!seen.has(id)) taskRow(id, "unknown", null);

  return tasks;
}
