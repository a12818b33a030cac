import { z } from "zod";
import { SLUG_RE, TASK_STATUSES } from "../core/mini-task.js";
import { defineTool, textOf } from "./define.js";
import { taskSummary, taskSummarySchema } from "./task-views.js";

export const listTasksTool = defineTool({
  name: "list_tasks",
  description: "List mini-tasks with status, attempts and cost; filter by project and/or status.",
  input: z
    .object({
      project: z.string().regex(SLUG_RE, "must be a project slug").optional(),
      status: z.enum(TASK_STATUSES).optional(),
    })
    .strict(),
  output: z
    .object({
      count: z.number().int(),
      tasks: z.array(taskSummarySchema),
      warnings: z.array(z.string()).optional(),
    })
    .strict(),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handle(args, ctx) {
    const store = await ctx.tasks();
    const { tasks, warnings } = await store.list(args);
    const structured = {
      count: tasks.length,
      tasks: tasks.map(taskSummary),
      ...(warnings.length ? { warnings } : {}),
    };
    return { structured, text: textOf(`${tasks.length} task(s)`, structured) };
  },
});
