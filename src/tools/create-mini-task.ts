import { z } from "zod";
import { UserError } from "../core/errors.js";
import {
  estimateSchema,
  type LintIssue,
  lintIssueSchema,
  miniTaskSpecSchema,
  TASK_STATUSES,
} from "../core/mini-task.js";
import { defineTool } from "./define.js";

/** Longest rejection text: every blocking error when they fit, else the first and the other fields. */
const NOT_STORED_MAX_CHARS = 300;

/** One line for a rejected spec, each error led by its field ("files_to_read[0].path: …"). */
function notStored(errors: LintIssue[]): string {
  const say = (e: LintIssue) => (e.message.startsWith(e.field) ? e.message : `${e.field}: ${e.message}`);
  const all = `Not stored: ${errors.map(say).join(" ")}`;
  if (all.length <= NOT_STORED_MAX_CHARS || errors.length < 2) return all;
  const rest = errors.slice(1).map((e) => e.field);
  const fields = rest.length > 4 ? `${rest.slice(0, 4).join(", ")}, …` : rest.join(", ");
  return `Not stored: ${say(errors[0]!)} Also blocking (${rest.length}): ${fields}.`;
}

export const createMiniTaskTool = defineTool({
  name: "create_mini_task",
  description:
    "Store a mini-task spec for a small model: lints it (blocking errors reject it), estimates tokens and cost, returns its id. targets makes one task per target (a template). Paths are workspace-relative.",
  input: miniTaskSpecSchema,
  output: z
    .object({
      id: z.string(),
      status: z.enum(TASK_STATUSES),
      path: z.string(),
      estimate: estimateSchema,
      lint: z.array(lintIssueSchema),
      task_ids: z.array(z.string()).optional().describe("a template's tasks"),
    })
    .strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handle(spec, ctx) {
    const { createMiniTask } = await import("../store/create-task.js");
    const result = await createMiniTask(await ctx.workspace(), await ctx.tasks(), await ctx.config(), spec);
    if (!result.task || !result.path) {
      const errors = result.lint.filter((l) => l.level === "error");
      throw new UserError(notStored(errors), errors[0]?.field);
    }
    const id = result.template ?? result.task.id;
    const structured = {
      id,
      status: result.task.status,
      path: result.path,
      estimate: result.estimate,
      lint: result.lint,
      ...(result.template ? { task_ids: result.tasks.map((t) => t.id) } : {}),
    };
    const warnings = result.lint.length ? `, ${result.lint.length} lint warning(s)` : "";
    const made = result.template ? `, ${result.tasks.length} tasks` : "";
    return { structured, headline: `${id} stored (ready${made}${warnings})` };
  },
});
