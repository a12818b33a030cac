import { z } from "zod";
import { shouldDelegate } from "../core/decide.js";
import { defineTool } from "./define.js";

export const shouldDelegateTool = defineTool({
  name: "should_delegate",
  description:
    "The delegation decision tree: delegate, do it yourself (big_model/current_model), or ask_user; with rationale and savings band.",
  input: z
    .object({
      well_defined: z.boolean(),
      repetitive_edit_count: z.number().int().min(0),
      needs_exploration: z.boolean(),
      multi_file: z.boolean(),
      atomic_task_count: z.number().int().min(0),
      needs_user_input: z.boolean(),
    })
    .strict(),
  output: z
    .object({
      decision: z.enum(["delegate", "big_model", "current_model", "ask_user"]),
      rationale: z.string(),
      expected_savings_pct: z
        .array(z.number())
        .length(2)
        .describe("[low, high] modelled at 32k–120k planner context"),
    })
    .strict(),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handle(args, ctx) {
    const { delegationPrices } = await import("../config/price-catalog.js");
    const structured = shouldDelegate(args, await delegationPrices(await ctx.config()));
    return { structured, headline: structured.decision };
  },
});
