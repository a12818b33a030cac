import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../core/errors.js";

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

export const providerSchema = z.enum(["anthropic", "openai", "openai-compatible"]);
export type ProviderName = z.infer<typeof providerSchema>;

export const modelConfigSchema = z
  .object({
    provider: providerSchema,
    model: z.string().min(1).describe("The provider's model id, e.g. claude-haiku-4-5."),
    base_url: z.string().url().optional().describe("API base URL; always wins over inherited env."),
    api_key_env: z.string().min(1).optional().describe("Env var holding the key."),
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
  })
  .strict();
export type Config = z.infer<typeof configSchema>;

export interface LoadedConfig {
  config: Config;
  /** The file it came from, or null when built-in defaults apply. */
  path: string | null;
  /** The workspace's own file (untrusted: it came with the repository), the user's, or none. */
  source: "workspace" | "user" | null;
}

/** The user-level config file: $XDG_CONFIG_HOME/delegate-mcp/config.json, else ~/.config/... */
export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "delegate-mcp", "config.json");
}

/**
 * `delegate.config.json` at the workspace root, else the user config, else nothing.
 * A file that exists but is invalid is an error naming the file, the field and the fix.
 */
export async function loadConfig(
  workspaceRoot: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  const candidates = [
    { path: join(workspaceRoot, CONFIG_FILE), source: "workspace" as const },
    { path: userConfigPath(env), source: "user" as const },
  ];
  for (const { path, source } of candidates) {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new UserError(
        `${path} cannot be read (${(err as Error).message}); fix its permissions.`,
        "config",
      );
    }
    return { config: parseConfig(text, path), path, source };
  }
  return { config: {}, path: null, source: null };
}

export function parseConfig(text: string, path: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path} is not valid JSON (${(err as Error).message}); fix the syntax.`, "config");
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join(".") || "(root)";
    throw new UserError(`${path}: ${field}: ${issue.message}; see schemas/config.schema.json.`, field);
  }
  return parsed.data;
}
