import { z } from "zod";
import { estimateSchema, TASK_STATUSES, taskIdField } from "../core/mini-task.js";
import { defineTool } from "./define.js";
import { attemptView, attemptViewSchema } from "./task-views.js";

/** Attempts shown in full; a task re-dispatched many times keeps the rest in its file. */
export const ATTEMPTS_SHOWN = 10;

export const getTaskTool = defineTool({
  name: "get_task",
  description: "A task's status, estimate and attempts (usage, files changed, validation, report).",
  input: z.object({ task_id: taskIdField }).strict(),
  output: z
    .object({
      id: z.string(),
      status: z.enum(TASK_STATUSES),
      title: z.string(),
      path: z.string(),
      estimate: estimateSchema,
      depends_on: z.array(z.string()).optional(),
      earlier_attempts: z.number().int().optional().describe("attempts not shown (older than the last 10)"),
      attempts: z.array(attemptViewSchema),
    })
    .strict(),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handle({ task_id }, ctx) {
    const { touchTask } = await import("../store/recovery.js");
    // A task whose owner process is gone is repaired when looked at, as at start-up.
    const task = await touchTask(await ctx.tasks(), task_id);
    const ws = await ctx.workspace();
    // The latest attempts matter; older ones stay in the task file.
    const shown = task.attempts.slice(-ATTEMPTS_SHOWN);
    const structured = {
      id: task.id,
      status: task.status,
      title: task.title,
      path: `${ws.dirRel}/${task.id}.md`,
      estimate: task.estimate,
      ...(task.depends_on.length ? { depends_on: task.depends_on } : {}),
      ...(task.attempts.length > shown.length
        ? { earlier_attempts: task.attempts.length - shown.length }
        : {}),
      attempts: shown.map(attemptView),
    };
    return { structured, headline: `${task.id}: ${task.status}` };
  },
});
