import { z } from "zod";
import { TASK_STATUSES, taskIdField, usageSchema, validationSummarySchema } from "../core/mini-task.js";
import { defineTool } from "./define.js";

/** Diff bytes shown in review_task; the whole diff goes to a file beyond that. */
const DIFF_SHOWN_BYTES = 40_000;

export const reviewTaskTool = defineTool({
  name: "review_task",
  description:
    "Verify a task: diff stat and diff of its latest attempt (long diffs cut, whole one saved to diff_path), files touched outside scope, last validation, usage.",
  input: z.object({ task_id: taskIdField }).strict(),
  output: z
    .object({
      task_id: z.string(),
      status: z.enum(TASK_STATUSES),
      attempt: z.number().int(),
      out_of_scope: z.array(z.string()),
      validation: validationSummarySchema.optional(),
      usage: usageSchema,
      stat: z.string(),
      diff: z.string(),
      truncated: z.boolean(),
      diff_path: z.string().optional(),
      refused: z.array(z.string()).optional(),
    })
    .strict(),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handle({ task_id }, ctx) {
    const { reviewTask } = await import("../executor/review.js");
    // Diffs past ~10k tokens are cut by git and saved whole to diff_path (the result budget is 45 KB).
    const r = await reviewTask(await ctx.workspace(), await ctx.tasks(), task_id, DIFF_SHOWN_BYTES);
    const structured = {
      task_id: r.task.id,
      status: r.task.status,
      attempt: r.attempt.n,
      out_of_scope: r.attempt.out_of_scope,
      ...(r.attempt.validation ? { validation: r.attempt.validation } : {}),
      usage: r.attempt.usage,
      stat: r.stat,
      diff: r.diff,
      truncated: r.truncated,
      ...(r.diffPath ? { diff_path: r.diffPath } : {}),
      ...(r.attempt.refused.length ? { refused: r.attempt.refused } : {}),
    };
    const scope = r.attempt.out_of_scope.length
      ? `${r.attempt.out_of_scope.length} out of scope (reverted)`
      : "in scope";
    return { structured, headline: `${r.task.id}: ${r.task.status}, ${scope}` };
  },
});

export const acceptTaskTool = defineTool({
  name: "accept_task",
  description:
    "Apply a passed task's diff to your working tree (uncommitted unless commit:true) and remove its worktree. Refuses on conflicts; nothing half-applied.",
  input: z.object({ task_id: taskIdField, commit: z.boolean().optional() }).strict(),
  output: z
    .object({
      task_id: z.string(),
      status: z.enum(TASK_STATUSES),
      applied: z.array(z.string()),
      commit: z.string().optional(),
      already: z.boolean().optional(),
      note: z.string().optional(),
    })
    .strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handle({ task_id, commit }, ctx) {
    const { acceptTask } = await import("../executor/review.js");
    const r = await acceptTask(await ctx.workspace(), await ctx.tasks(), task_id, {
      ...(commit ? { commit } : {}),
    });
    const structured = {
      task_id: r.task.id,
      status: r.task.status,
      applied: r.applied,
      ...(r.commit ? { commit: r.commit } : {}),
      ...(r.already ? { already: true } : {}),
      ...(r.note ? { note: r.note } : {}),
    };
    return { structured, headline: `${r.task.id}: accepted${r.note ? `; ${r.note}` : ""}` };
  },
});

export const discardTaskTool = defineTool({
  name: "discard_task",
  description: "Throw a task's attempt away: remove its worktree and branch; status discarded.",
  input: z.object({ task_id: taskIdField }).strict(),
  output: z
    .object({ task_id: z.string(), status: z.enum(TASK_STATUSES), already: z.boolean().optional() })
    .strict(),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handle({ task_id }, ctx) {
    const { discardTask } = await import("../executor/review.js");
    const r = await discardTask(await ctx.workspace(), await ctx.tasks(), task_id);
    const structured = { task_id: r.task.id, status: r.task.status, ...(r.already ? { already: true } : {}) };
    return { structured, headline: `${r.task.id}: discarded` };
  },
});
