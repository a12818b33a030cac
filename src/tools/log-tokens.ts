import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../core/errors.js";
import { LEDGER_PHASES } from "../core/ledger-entry.js";
import { modelField, projectField, taskIdField } from "../core/mini-task.js";
import { resolveModel } from "../providers/registry.js";
import { defineTool, textOf } from "./define.js";

const tokens = z.number().int().min(0).max(1e10);

export const logTokensTool = defineTool({
  name: "log_tokens",
  description:
    "Record tokens the server cannot see: your own exploration/planning/verification, or an all-big baseline_estimate.",
  input: z
    .object({
      project: projectField,
      phase: z.enum(LEDGER_PHASES),
      model: modelField,
      input_tokens: tokens,
      output_tokens: tokens,
      cache_read_tokens: tokens.optional(),
      cache_write_tokens: tokens.optional(),
      task_id: taskIdField.optional(),
      note: z.string().max(500).optional(),
    })
    .strict(),
  output: z
    .object({ recorded: z.boolean(), cost_usd: z.number().nullable(), warning: z.string().optional() })
    .strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handle(args, ctx) {
    const [{ LEDGER_FILE, Ledger }, { priceEntry }] = await Promise.all([
      import("../store/ledger.js"),
      import("../store/report.js"),
    ]);
    const ws = await ctx.workspace();
    if (args.task_id && !args.task_id.startsWith(`${args.project}/`)) {
      throw new UserError(
        `task_id ${args.task_id} is not in project ${args.project}; give that project or drop task_id.`,
        "task_id",
      );
    }
    const model = resolveModel(await ctx.config(), args.model);
    const usage = {
      input_tokens: args.input_tokens,
      output_tokens: args.output_tokens,
      cache_read_tokens: args.cache_read_tokens ?? 0,
      cache_write_tokens: args.cache_write_tokens ?? 0,
    };
    const cost = await priceEntry(model, usage);
    await new Ledger(join(ws.dir, LEDGER_FILE)).append({
      ts: new Date().toISOString(),
      project: args.project,
      ...(args.task_id ? { task: args.task_id } : {}),
      phase: args.phase,
      model: model.model,
      provider: model.provider,
      ...usage,
      cost_usd: cost,
      source: args.phase === "baseline_estimate" ? "estimated" : "reported",
      ...(args.note ? { note: args.note } : {}),
    });
    const structured = {
      recorded: true,
      cost_usd: cost,
      ...(cost === null
        ? { warning: `no price known for ${model.model}; add "price" for it in delegate.config.json.` }
        : {}),
    };
    return { structured, text: textOf(`recorded ${args.phase} on ${model.model}`, structured) };
  },
});
