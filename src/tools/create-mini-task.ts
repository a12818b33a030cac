import { z } from "zod";
import { UserError } from "../core/errors.js";
import { estimateSchema, lintIssueSchema, miniTaskSpecSchema, TASK_STATUSES } from "../core/mini-task.js";
import { createMiniTask } from "../store/create-task.js";
import { defineTool, textOf } from "./define.js";

export const createMiniTaskTool = defineTool({
  name: "create_mini_task",
  description:
    "Store a mini-task spec for a small model: lints it (blocking errors reject it), estimates tokens and cost, returns its id. Paths are workspace-relative.",
  input: miniTaskSpecSchema,
  output: z
    .object({
      id: z.string(),
      status: z.enum(TASK_STATUSES),
      path: z.string(),
      estimate: estimateSchema,
      lint: z.array(lintIssueSchema),
    })
    .strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handle(spec, ctx) {
    const result = await createMiniTask(await ctx.workspace(), await ctx.tasks(), await ctx.config(), spec);
    if (!result.task || !result.path) {
      const errors = result.lint.filter((l) => l.level === "error");
      throw new UserError(
        `Not stored: ${errors.length} blocking lint error(s). ${errors.map((e) => e.message).join(" ")}`,
        errors[0]?.field,
      );
    }
    const structured = {
      id: result.task.id,
      status: result.task.status,
      path: result.path,
      estimate: result.estimate,
      lint: result.lint,
    };
    const warnings = result.lint.length ? `, ${result.lint.length} lint warning(s)` : "";
    return { structured, text: textOf(`${result.task.id} stored (ready${warnings})`, structured) };
  },
});
