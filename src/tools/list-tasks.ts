import { z } from "zod";
import { projectField, TASK_STATUSES, TEMPLATE_ID_RE } from "../core/mini-task.js";
import { defineTool } from "./define.js";
import { taskSummary, taskSummarySchema } from "./task-views.js";

/** At most this many tasks per answer (≈ 50 tokens each). */
export const LIST_MAX = 200;

export const listTasksTool = defineTool({
  name: "list_tasks",
  description: "List mini-tasks with status, attempts and cost; filter by project, status and/or template.",
  input: z
    .object({
      project: projectField.optional(),
      status: z.enum(TASK_STATUSES).optional(),
      template: z
        .string()
        .refine((t) => TEMPLATE_ID_RE.test(t), "must be a template id like my-project/t01-slug")
        .optional(),
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
    // Results stay well under the 20,000-token cap clients enforce: beyond LIST_MAX, narrow it.
    const shown = tasks.slice(0, LIST_MAX);
    const notes = [
      ...warnings,
      ...(tasks.length > LIST_MAX
        ? [`${tasks.length - LIST_MAX} more task(s) not listed; filter by project or status.`]
        : []),
    ];
    const structured = {
      count: tasks.length,
      tasks: shown.map(taskSummary),
      ...(notes.length ? { warnings: notes } : {}),
    };
    return { structured, headline: `${tasks.length} task(s)` };
  },
});
