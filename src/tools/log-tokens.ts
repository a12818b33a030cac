import { z } from "zod";
import { LOGGED_PHASES } from "../core/ledger-entry.js";
import { modelField, projectField, taskIdField } from "../core/mini-task.js";
import { defineTool } from "./define.js";

const tokens = z.number().int().min(0).max(1e10);

export const logTokensTool = defineTool({
  name: "log_tokens",
  description:
    "Record tokens the server cannot see: your own exploration/planning/verification, or an all-big baseline_estimate.",
  input: z
    .object({
      project: projectField,
      phase: z.enum(LOGGED_PHASES),
      model: modelField.optional(),
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
    const { logTokens } = await import("../store/report.js");
    const { cost_usd: cost, model } = await logTokens(await ctx.workspace(), await ctx.config(), {
      project: args.project,
      phase: args.phase,
      model: args.model,
      usage: {
        input_tokens: args.input_tokens,
        output_tokens: args.output_tokens,
        cache_read_tokens: args.cache_read_tokens ?? 0,
        cache_write_tokens: args.cache_write_tokens ?? 0,
      },
      task_id: args.task_id,
      note: args.note,
    });
    const structured = {
      recorded: true,
      cost_usd: cost,
      ...(cost === null
        ? {
            warning: `no price known for ${model}; the record is kept with cost_usd null; add "price" for it in delegate.config.json.`,
          }
        : {}),
    };
    return { structured, headline: `recorded ${args.phase} on ${model}` };
  },
});
