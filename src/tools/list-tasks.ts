import { z } from "zod";
import { projectField, TASK_STATUSES, TEMPLATE_ID_RE } from "../core/mini-task.js";
import { RESULT_BUDGET_BYTES } from "./budget.js";
import { defineTool } from "./define.js";
import { taskSummary, taskSummarySchema } from "./task-views.js";

/** At most this many tasks per page (≈ 50 tokens each); fewer when long titles would pass the budget. */
export const PAGE_MAX = 100;

export const listTasksTool = defineTool({
  name: "list_tasks",
  description:
    "List mini-tasks with status, attempts and cost; filter by project, status and/or template. Paged: pass next_cursor as cursor.",
  input: z
    .object({
      project: projectField.optional(),
      status: z.enum(TASK_STATUSES).optional(),
      template: z
        .string()
        .refine((t) => TEMPLATE_ID_RE.test(t), "must be a template id like my-project/t01-slug")
        .optional(),
      cursor: z.string().max(200).optional(),
    })
    .strict(),
  output: z
    .object({
      count: z.number().int().optional().describe("Tasks matching the filter, all pages (first page)."),
      tasks: z.array(taskSummarySchema),
      next_cursor: z.string().optional().describe("More tasks follow: pass this as cursor."),
      warnings: z.array(z.string()).optional(),
    })
    .strict(),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handle({ cursor, ...filter }, ctx) {
    const store = await ctx.tasks();
    const page = await store.page(filter, {
      limit: PAGE_MAX,
      ...(cursor !== undefined ? { after: cursor } : {}),
    });
    let shown = page.tasks.length;
    const answer = () => {
      const tasks = page.tasks.slice(0, shown);
      const next = shown < page.tasks.length ? tasks.at(-1)?.id : page.next;
      const structured = {
        ...(page.total !== undefined ? { count: page.total } : {}),
        tasks: tasks.map(taskSummary),
        ...(next ? { next_cursor: next } : {}),
        ...(page.warnings.length ? { warnings: page.warnings } : {}),
      };
      const headline = `${page.total ?? tasks.length} task(s)${page.total === undefined ? " on this page" : ""}${next ? ", more with next_cursor" : ""}`;
      return { structured, headline };
    };
    let result = answer();
    // Cut here, not by the generic result cap: a list cut after the cursor was chosen would skip tasks.
    while (shown > 1 && Buffer.byteLength(JSON.stringify(result.structured)) > RESULT_BUDGET_BYTES - 200) {
      shown = Math.ceil(shown / 2);
      result = answer();
    }
    return result;
  },
});
