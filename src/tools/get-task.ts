import { z } from "zod";
import { estimateSchema, TASK_ID_RE, TASK_STATUSES } from "../core/mini-task.js";
import { defineTool, textOf } from "./define.js";
import { attemptView, attemptViewSchema } from "./task-views.js";

// A refinement, not a regex: the pattern would be repeated in every tool's schema the planner pays for.
export const taskIdField = z
  .string()
  .refine((id) => TASK_ID_RE.test(id), "must be a task id like my-project/01-add-parser");

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
      attempts: z.array(attemptViewSchema),
    })
    .strict(),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handle({ task_id }, ctx) {
    const store = await ctx.tasks();
    const task = await store.get(task_id);
    const ws = await ctx.workspace();
    const structured = {
      id: task.id,
      status: task.status,
      title: task.title,
      path: `${ws.dirRel}/${task.id}.md`,
      estimate: task.estimate,
      ...(task.depends_on.length ? { depends_on: task.depends_on } : {}),
      attempts: task.attempts.map(attemptView),
    };
    return { structured, text: textOf(`${task.id}: ${task.status}`, structured) };
  },
});
