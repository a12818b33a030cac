import { relative } from "node:path";
import { z } from "zod";
import { UserError } from "../core/errors.js";
import {
  fileChangeSchema,
  modelField,
  TASK_STATUSES,
  taskIdField,
  usageSchema,
  validationSummarySchema,
} from "../core/mini-task.js";
import { defineTool } from "./define.js";

const resultSchema = z
  .object({
    task_id: z.string(),
    status: z.enum(TASK_STATUSES),
    attempt: z.number().int(),
    files_changed: z.array(fileChangeSchema).optional(),
    validation: validationSummarySchema.optional(),
    usage: usageSchema.optional(),
    report: z.string().optional(),
    out_of_scope: z.array(z.string()).optional(),
    escalated_from: z.string().optional(),
  })
  .strict();

export const dispatchTool = defineTool({
  name: "dispatch_to_small_model",
  description:
    "Run task(s) on the executor model in isolated git worktrees (dependents after their dependencies), then validate server-side. wait:false returns at once; poll get_task.",
  input: z
    .object({
      task_id: taskIdField.optional(),
      task_ids: z.array(taskIdField).min(1).max(50).optional(),
      model: modelField.optional(),
      wait: z.boolean().optional().describe("default true"),
      max_turns: z.number().int().min(1).max(100).optional(),
      max_fix_rounds: z.number().int().min(0).max(10).optional(),
      budget_usd: z.number().positive().max(100).optional(),
      escalate_to: modelField.optional(),
    })
    .strict(),
  output: z.object({ results: z.array(resultSchema) }).strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handle(args, ctx) {
    const ids = [...(args.task_id ? [args.task_id] : []), ...(args.task_ids ?? [])];
    if (ids.length === 0) throw new UserError("Give task_id or task_ids (from create_mini_task).", "task_id");
    const ws = await ctx.workspace();
    const { Dispatcher } = await import("../executor/dispatch.js");
    const { config, source, path } = await ctx.configFile();
    const dispatcher = new Dispatcher({
      ws,
      store: await ctx.tasks(),
      config,
      ...(source === "workspace" && path ? { workspaceConfigPath: relative(ws.root, path) } : {}),
      env: ctx.server.env,
      ...(ctx.server.createModel ? { createModel: ctx.server.createModel } : {}),
    });
    const abort = new AbortController();
    const wait = args.wait ?? true;
    let step = 0;
    const opts = {
      model: args.model,
      maxTurns: args.max_turns,
      maxFixRounds: args.max_fix_rounds,
      budgetUsd: args.budget_usd,
      escalateTo: args.escalate_to,
      signal: abort.signal,
      onProgress: (message: string) => {
        if (wait) void ctx.progress(++step, undefined, message);
      },
    };
    const { tasks, attempts } = await dispatcher.prepare(ids, opts);
    const work = ctx.server.track(dispatcher.run(tasks, attempts, opts), abort);
    if (!wait) {
      work.catch(() => {});
      const structured = {
        results: tasks.map((t) => ({
          task_id: t.id,
          status: "running" as const,
          attempt: attempts.get(t.id)!,
        })),
      };
      return { structured, headline: `dispatched ${tasks.length} task(s); poll get_task` };
    }
    const onCancel = () => abort.abort(new Error("cancelled by the client"));
    ctx.signal.addEventListener("abort", onCancel, { once: true });
    try {
      const results = await work;
      const structured = { results };
      const head = results.map((r) => `${r.task_id}: ${r.status}`).join("; ");
      return { structured, headline: head };
    } finally {
      ctx.signal.removeEventListener("abort", onCancel);
    }
  },
});
