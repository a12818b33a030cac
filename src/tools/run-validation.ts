import { z } from "zod";
import { UserError } from "../core/errors.js";
import { shellLineField, taskIdField, validationCommandSchema } from "../core/mini-task.js";
import { shorten } from "../core/render.js";
import { defineTool } from "./define.js";

/** Output kept per command in the planner's result; passing commands keep none. */
const OUTPUT_CHARS = 2000;
/** The planner wrote the command: its start is enough to tell which one a result is. */
const RUN_ECHO_CHARS = 200;

export const runValidationTool = defineTool({
  name: "run_validation",
  description:
    "Run a task's validation commands (or ad-hoc shell commands) in the task's worktree or the workspace. Pass/fail per command with output tails.",
  input: z
    .object({
      task_id: taskIdField.optional(),
      commands: z
        .array(
          z.union([shellLineField, validationCommandSchema], {
            error: "must be a shell command string or {run, expect_exit?, expect_output?, timeout_s?}",
          }),
        )
        .min(1)
        .max(20)
        .optional(),
      where: z
        .enum(["worktree", "workspace"])
        .optional()
        .describe("default: the task's worktree if it has one"),
      timeout_s: z.number().positive().max(3600).optional(),
      continue_on_failure: z.boolean().optional(),
    })
    .strict(),
  output: z
    .object({
      passed: z.boolean(),
      where: z.string(),
      results: z.array(
        z
          .object({
            run: z.string(),
            passed: z.boolean(),
            exit_code: z.number().int().nullable(),
            timed_out: z.boolean(),
            duration_ms: z.number(),
            output: z.string(),
            skipped: z.boolean().optional(),
            error: z.string().optional(),
          })
          .strict(),
      ),
    })
    .strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handle(args, ctx) {
    if (!args.task_id && !args.commands) throw new UserError("Give task_id or commands.", "task_id");
    const [{ worktreeOf }, { validationOptions }, { runValidation }] = await Promise.all([
      import("../executor/locate.js"),
      import("../validation/options.js"),
      import("../validation/runner.js"),
    ]);
    const ws = await ctx.workspace();
    const config = await ctx.config();
    let cwd = ws.root;
    let where = "workspace";
    let commands = (args.commands ?? []).map((c) => (typeof c === "string" ? { run: c } : c));
    if (args.task_id) {
      const task = await (await ctx.tasks()).get(args.task_id);
      if (!args.commands) commands = task.validation;
      if (args.where !== "workspace") {
        const wt = await worktreeOf(task);
        if (wt) {
          cwd = wt;
          where = "worktree";
        } else if (args.where === "worktree") {
          throw new UserError(
            `task ${task.id} has no worktree (dispatch it first, or use where: "workspace").`,
            "where",
          );
        }
      }
    } else if (args.where === "worktree") {
      throw new UserError('where: "worktree" needs task_id.', "where");
    }
    if (commands.length === 0)
      throw new UserError("The task has no validation commands; pass commands.", "commands");
    if (args.timeout_s) commands = commands.map((c) => ({ ...c, timeout_s: c.timeout_s ?? args.timeout_s }));
    let step = 0;
    const run = await runValidation(commands, {
      cwd,
      env: ctx.server.env,
      ...validationOptions(config),
      signal: ctx.signal,
      ...(args.continue_on_failure ? { continueOnFailure: true } : {}),
      onProgress: (e) => {
        if (e.phase === "start") void ctx.progress(++step, e.total, shorten(e.run, RUN_ECHO_CHARS));
      },
    });
    const results = run.results.map((r) => ({
      ...r,
      run: shorten(r.run, RUN_ECHO_CHARS),
      // A passing command's output is noise to the planner; a failing one keeps its tail.
      output: r.passed ? "" : r.output.length > OUTPUT_CHARS ? `…${r.output.slice(-OUTPUT_CHARS)}` : r.output,
    }));
    const structured = { passed: run.passed, where, results };
    const failed = results.filter((r) => !r.passed && !r.skipped).length;
    const head = run.passed ? `passed (${results.length} command(s))` : `failed (${failed} failing)`;
    return { structured, headline: head };
  },
});
