import { z } from "zod";
import type { Attempt, StoredTask } from "../core/mini-task.js";
import {
  estimateSchema,
  fileChangeSchema,
  TASK_STATUSES,
  usageSchema,
  validationSummarySchema,
} from "../core/mini-task.js";
import { roundUsd } from "../core/pricing.js";
import { shorten } from "../core/render.js";

/** Reports kept on the attempt are shortened in results the planner reads. */
export const REPORT_MAX_CHARS = 600;

export const attemptViewSchema = z
  .object({
    n: z.number().int(),
    status: z.enum(TASK_STATUSES),
    model: z.string(),
    turns: z.number().int(),
    usage: usageSchema,
    files_changed: z.array(fileChangeSchema),
    out_of_scope: z.array(z.string()).optional(),
    refused: z.array(z.string()).optional(),
    validation: validationSummarySchema.optional(),
    report: z.string().optional(),
    error: z.string().optional(),
    branch: z.string().optional(),
    escalation_of: z.number().int().optional(),
  })
  .strict();

export function attemptView(a: Attempt): z.infer<typeof attemptViewSchema> {
  return {
    n: a.n,
    status: a.status,
    model: a.model,
    turns: a.turns,
    usage: a.usage,
    files_changed: a.files_changed,
    ...(a.out_of_scope.length ? { out_of_scope: a.out_of_scope } : {}),
    ...(a.refused.length ? { refused: a.refused } : {}),
    ...(a.validation ? { validation: a.validation } : {}),
    ...(a.report ? { report: shorten(a.report, REPORT_MAX_CHARS) } : {}),
    ...(a.error ? { error: a.error } : {}),
    ...(a.branch ? { branch: a.branch } : {}),
    ...(a.escalation_of ? { escalation_of: a.escalation_of } : {}),
  };
}

export const taskSummarySchema = z
  .object({
    id: z.string(),
    status: z.enum(TASK_STATUSES),
    title: z.string(),
    attempts: z.number().int(),
    cost_usd: z.number().nullable(),
    depends_on: z.array(z.string()).optional(),
  })
  .strict();

/** Measured cost of every attempt; null when any attempt's cost is unknown. */
export function attemptsCost(task: StoredTask): number | null {
  let sum = 0;
  for (const a of task.attempts) {
    if (a.usage.cost_usd === null) return null;
    sum += a.usage.cost_usd;
  }
  return roundUsd(sum);
}

export function taskSummary(task: StoredTask): z.infer<typeof taskSummarySchema> {
  return {
    id: task.id,
    status: task.status,
    title: task.title,
    attempts: task.attempts.length,
    cost_usd: attemptsCost(task),
    ...(task.depends_on.length ? { depends_on: task.depends_on } : {}),
  };
}

export { estimateSchema };
