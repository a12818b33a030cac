import { relative } from "node:path";
import { z } from "zod";
import { SCRIPTED_MODEL_ID } from "../config/models.js";
import {
  fileChangeSchema,
  modelField,
  TASK_STATUSES,
  taskIdField,
  usageSchema,
  validationSummarySchema,
} from "../core/mini-task.js";
import type { BatchItem } from "../executor/batch.js";
import { defineTool } from "./define.js";

const resultSchema = z
  .object({
    task_id: z.string(),
    status: z.enum(TASK_STATUSES),
    attempt: z.number().int().optional(),
    files_changed: z.array(fileChangeSchema).optional(),
    applied: z.array(z.string()).optional(),
    not_applied: z.string().optional(),
    validation: validationSummarySchema.optional(),
    usage: usageSchema.optional(),
    report: z.string().optional(),
    out_of_scope: z.array(z.string()).optional(),
    escalated_from: z.string().optional(),
    diff: z.string().optional(),
    diff_path: z.string().optional(),
  })
  .strict();

const totalSchema = z
  .object({ tasks: z.number().int(), passed: z.number().int(), cost_usd: z.number().nullable() })
  .strict();

/**
 * What the planner reads of each task (DESIGN: it pays for every token). A task that passed is its
 * id, status, files with line counts, `{passed: true, ran: N}` and what was applied (≈ 50 tokens;
 * get_task has the rest);
 * a failing one adds the attempt, validation failures with their output tail, usage, the
 * executor's report and, with include_diff, the diff.
 */
function itemView(r: BatchItem): z.input<typeof resultSchema> {
  const ok = r.status === "passed" || r.status === "accepted";
  if (ok && !r.out_of_scope?.length && !r.not_applied)
    return {
      task_id: r.task_id,
      status: r.status,
      ...(r.attempt > 1 ? { attempt: r.attempt } : {}),
      files_changed: r.files_changed,
      validation: r.validation,
      // The keyless try-out says what it is on every result it touches.
      ...(r.report?.startsWith(SCRIPTED_MODEL_ID) ? { report: r.report } : {}),
      ...(r.applied ? { applied: r.applied } : {}),
      ...(r.escalated_from ? { escalated_from: r.escalated_from } : {}),
    };
  return {
    task_id: r.task_id,
    status: r.status,
    attempt: r.attempt,
    files_changed: r.files_changed,
    ...(r.not_applied ? { not_applied: r.not_applied } : {}),
    validation: r.validation,
    usage: r.usage,
    ...(r.report ? { report: r.report } : {}),
    ...(r.out_of_scope?.length ? { out_of_scope: r.out_of_scope } : {}),
    ...(r.escalated_from ? { escalated_from: r.escalated_from } : {}),
    ...(r.diff !== undefined ? { diff: r.diff } : {}),
    ...(r.diff_path ? { diff_path: r.diff_path } : {}),
  };
}

function totalOf(items: BatchItem[]): z.input<typeof totalSchema> {
  const costs = items.map((r) => r.usage.cost_usd);
  return {
    tasks: items.length,
    passed: items.filter((r) => r.status === "passed" || r.status === "accepted").length,
    cost_usd: costs.some((c) => c === null)
      ? null
      : Math.round(costs.reduce<number>((n, c) => n + (c ?? 0), 0) * 1e6) / 1e6,
  };
}

export const dispatchTool = defineTool({
  name: "dispatch_to_small_model",
  description:
    "Run task(s) on the executor model in isolated git worktrees (dependents after their dependencies), then validate server-side. specs creates them first. wait:false returns at once; poll get_task.",
  input: z
    .object({
      task_id: taskIdField.optional(),
      task_ids: z.array(taskIdField).min(1).max(50).optional(),
      template: z.string().max(120).optional(),
      // Checked strictly against create_mini_task's schema server-side: its fields are not repeated here.
      specs: z
        .array(z.record(z.string(), z.unknown()))
        .min(1)
        .max(50)
        .optional()
        .describe("create_mini_task args each"),
      accept: z.literal("on_pass").optional().describe("apply passing tasks"),
      include_diff: z.boolean().optional().describe("failing tasks' diff"),
      model: modelField.optional(),
      wait: z.boolean().optional().describe("default true"),
      max_turns: z.number().int().min(1).max(100).optional(),
      max_fix_rounds: z.number().int().min(0).max(10).optional(),
      budget_usd: z.number().positive().max(100).optional(),
      escalate_to: modelField.optional(),
    })
    .strict(),
  output: z.object({ results: z.array(resultSchema), total: totalSchema.optional() }).strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handle(args, ctx) {
    const ws = await ctx.workspace();
    const store = await ctx.tasks();
    const { Dispatcher } = await import("../executor/dispatch.js");
    const { afterRun, startBatch } = await import("../executor/batch.js");
    const { config, source, path } = await ctx.configFile();
    const dispatcher = new Dispatcher({
      ws,
      store,
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
    const { tasks, attempts } = await startBatch(dispatcher, ws, store, config, args, opts);
    const after = { accept: args.accept, includeDiff: args.include_diff };
    const work = ctx.server.track(
      dispatcher.run(tasks, attempts, opts).then((results) => afterRun(ws, store, results, after)),
      abort,
    );
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
      const structured = { results: results.map(itemView), total: totalOf(results) };
      const head = results.map((r) => `${r.task_id}: ${r.status}`).join("; ");
      return { structured, headline: head };
    } finally {
      ctx.signal.removeEventListener("abort", onCancel);
    }
  },
});
