import { z } from "zod";
import { UserError } from "../core/errors.js";
import {
  shellLineField,
  TASK_STATUSES,
  type TaskStatus,
  taskIdField,
  validationCommandSchema,
} from "../core/mini-task.js";
import { shorten, tail } from "../core/render.js";
import { defineTool } from "./define.js";

/** Output kept per failing command in the planner's result. */
const OUTPUT_CHARS = 2000;
/** The planner wrote the command: its start is enough to tell which one a result is. */
const RUN_ECHO_CHARS = 200;
/** A passing ad-hoc command keeps this much of its tail: the planner asked to see it. */
const PASSING_OUTPUT_CHARS = 1000;

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
      amend: z
        .boolean()
        .optional()
        .describe(
          "with task_id+commands: they replace its validation; pass on its worktree → passed, no model call",
        ),
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
      task_status: z.enum(TASK_STATUSES).optional(),
    })
    .strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handle(args, ctx) {
    if (!args.task_id && !args.commands) throw new UserError("Give task_id or commands.", "task_id");
    if (args.amend && !(args.task_id && args.commands))
      throw new UserError("amend needs task_id and the corrected commands.", "amend");
    if (args.amend && args.where === "workspace")
      throw new UserError('amend re-checks the task\'s worktree; drop where: "workspace".', "where");
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
    if (args.task_id && !args.amend) {
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
    } else if (args.where === "worktree" && !args.task_id) {
      throw new UserError('where: "worktree" needs task_id.', "where");
    }
    if (commands.length === 0)
      throw new UserError("The task has no validation commands; pass commands.", "commands");
    if (args.timeout_s) commands = commands.map((c) => ({ ...c, timeout_s: c.timeout_s ?? args.timeout_s }));
    let step = 0;
    const runIn = (dir: string) =>
      runValidation(commands, {
        cwd: dir,
        env: ctx.server.env,
        ...validationOptions(config),
        signal: ctx.signal,
        ...(args.continue_on_failure ? { continueOnFailure: true } : {}),
        onProgress: (e) => {
          if (e.phase === "start") void ctx.progress(++step, e.total, shorten(e.run, RUN_ECHO_CHARS));
        },
      });
    let run: Awaited<ReturnType<typeof runIn>>;
    let taskStatus: TaskStatus | undefined;
    if (args.amend && args.task_id) {
      const { amendValidation } = await import("../executor/amend.js");
      const amended = await amendValidation(await ctx.tasks(), args.task_id, commands, runIn);
      run = amended.run;
      taskStatus = amended.task.status;
      where = "worktree";
    } else {
      run = await runIn(cwd);
    }
    const results = run.results.map((r) => ({
      ...r,
      run: shorten(r.run, RUN_ECHO_CHARS),
      // A task's own passing checks are noise to the planner; commands it wrote itself keep a tail.
      output: r.passed
        ? args.commands
          ? tail(r.output, PASSING_OUTPUT_CHARS)
          : ""
        : tail(r.output, OUTPUT_CHARS),
    }));
    const structured = {
      passed: run.passed,
      where,
      results,
      ...(taskStatus ? { task_status: taskStatus } : {}),
    };
    const failed = results.filter((r) => !r.passed && !r.skipped).length;
    const head = run.passed ? `passed (${results.length} command(s))` : `failed (${failed} failing)`;
    const amended = taskStatus ? `; ${args.task_id} validation amended, now ${taskStatus}` : "";
    return { structured, headline: `${head}${amended}` };
  },
});
