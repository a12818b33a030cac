import { z } from "zod";
import { UserError } from "../core/errors.js";
import {
  estimateSchema,
  type LintIssue,
  lintIssueSchema,
  miniTaskSpecSchema,
  TASK_STATUSES,
} from "../core/mini-task.js";
import { shorten } from "../core/render.js";
import { defineTool } from "./define.js";
import { warmDispatchPath } from "./warm-up.js";

/** Each blocking error's reason is kept to this length, and at most this many are listed. */
const REASON_MAX_CHARS = 240;
const REASONS_MAX = 8;

/** One answer for a rejected spec: every blocking error with its field and why ("files_to_read[0].path: …"). */
function notStored(errors: LintIssue[]): string {
  const say = (e: LintIssue) => {
    const reason = shorten(e.message, REASON_MAX_CHARS);
    return reason.startsWith(e.field) ? reason : `${e.field}: ${reason}`;
  };
  const listed = errors.slice(0, REASONS_MAX).map(say).join(" ");
  const rest = errors.length - REASONS_MAX;
  return `Not stored (${errors.length} blocking): ${listed}${rest > 0 ? ` …and ${rest} more.` : ""}`;
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
    const config = await ctx.config();
    const result = await createMiniTask(await ctx.workspace(), await ctx.tasks(), config, spec);
    if (!result.task || !result.path) {
      const errors = result.lint.filter((l) => l.level === "error");
      throw new UserError(notStored(errors), errors[0]?.field);
    }
    warmDispatchPath(config);
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
