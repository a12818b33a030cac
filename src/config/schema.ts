/** What delegate.config.json may contain: the schemas its loading checks against, and their types. */
import { z } from "zod";
import { PROVIDER_NAMES } from "../core/provider.js";

export const CONFIG_FILE = "delegate.config.json";

export const priceSchema = z
  .object({
    input_per_mtok: z.number().nonnegative(),
    output_per_mtok: z.number().nonnegative(),
    cache_read_per_mtok: z.number().nonnegative().optional(),
    cache_write_per_mtok: z.number().nonnegative().optional(),
  })
  .strict()
  .describe("USD per million tokens; overrides the bundled catalog.");

export const providerSchema = z.enum(PROVIDER_NAMES);

export const modelConfigSchema = z
  .object({
    provider: providerSchema,
    model: z.string().min(1).describe("The provider's model id, e.g. claude-haiku-4-5."),
    base_url: z.string().url().optional().describe("API base URL; always wins over inherited env."),
    api_key_env: z.string().min(1).optional().describe("Env var holding the key."),
    command: z
      .string()
      .min(1)
      .optional()
      .describe("claude-code / codex only: the CLI to run (default claude / codex on PATH)."),
    price: priceSchema.optional(),
  })
  .strict();
export type ModelConfig = z.infer<typeof modelConfigSchema>;

export const limitsSchema = z
  .object({
    max_turns: z.number().int().min(1).max(200).optional(),
    max_fix_rounds: z.number().int().min(0).max(10).optional(),
    budget_usd: z.number().positive().optional(),
    max_tokens_per_task: z.number().int().positive().optional(),
    concurrency: z.number().int().min(1).max(32).optional(),
    validation_timeout_s: z.number().positive().optional(),
    validation_timeout_ceiling_s: z.number().positive().optional(),
    output_bytes: z.number().int().min(256).optional(),
    request_timeout_s: z.number().positive().optional(),
  })
  .strict();
export type Limits = z.infer<typeof limitsSchema>;

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    models: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/), modelConfigSchema).optional(),
    defaults: z
      .object({ executor: z.string().min(1).optional(), planner: z.string().min(1).optional() })
      .strict()
      .optional(),
    limits: limitsSchema.optional(),
    import_planner_usage: z
      .boolean()
      .optional()
      .describe("Read the planner's usage from the client's session transcript (default true)."),
  })
  .strict();
export type Config = z.infer<typeof configSchema>;
