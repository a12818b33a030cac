import { UserError } from "../core/errors.js";
import type { Price } from "../core/pricing.js";
import { type CliProviderName, isCliProvider, type ProviderName } from "../core/provider.js";
import type { Config, ModelConfig } from "./schema.js";

/** A model ready to be called or priced: the alias resolved against config and built-ins. */
export interface ResolvedModel {
  /** The alias it was asked for by, or the model id when none. */
  alias: string;
  provider: ProviderName;
  /** The provider's model id. */
  model: string;
  baseURL?: string;
  /** Env var the key is read from. */
  apiKeyEnv: string;
  /** From the config; when absent the catalog is consulted (see price-catalog.ts). */
  priceOverride?: Price;
  /** claude-code / codex: the CLI to run, and whether the config names a key for it (else its own login). */
  cli?: { provider: CliProviderName; command: string; commandConfigured: boolean; apiKeyConfigured: boolean };
}

/** The model id of the built-in alias `scripted`: ledger rows and report tables name it for what it is. */
export const SCRIPTED_MODEL_ID = "scripted executor, not a model";

export const BUILTIN_MODELS: Record<string, ModelConfig> = {
  haiku: { provider: "anthropic", model: "claude-haiku-4-5" },
  sonnet: { provider: "anthropic", model: "claude-sonnet-4-5" },
  opus: { provider: "anthropic", model: "claude-opus-4-5" },
  "gpt-4o-mini": { provider: "openai", model: "gpt-4o-mini" },
  "gpt-4.1-mini": { provider: "openai", model: "gpt-4.1-mini" },
  "gpt-5-mini": { provider: "openai", model: "gpt-5-mini" },
  "haiku-cli": { provider: "claude-code", model: "claude-haiku-4-5" },
  // The keyless try-out: bills nothing, so it is priced at 0 and named for what it is everywhere.
  scripted: {
    provider: "scripted",
    model: SCRIPTED_MODEL_ID,
    price: { input_per_mtok: 0, output_per_mtok: 0 },
  },
};

export const DEFAULT_EXECUTOR = "haiku";
export const DEFAULT_PLANNER = "sonnet";

function defaultKeyEnv(provider: ProviderName): string {
  if (provider === "anthropic" || provider === "claude-code") return "ANTHROPIC_API_KEY";
  if (provider === "openai" || provider === "codex") return "OPENAI_API_KEY";
  // Never OPENAI_API_KEY: that would send the user's OpenAI key to whatever base_url is configured.
  return "OPENAI_COMPATIBLE_API_KEY";
}

function fromConfig(alias: string, m: ModelConfig): ResolvedModel {
  return {
    alias,
    provider: m.provider,
    model: m.model,
    ...(m.base_url ? { baseURL: m.base_url } : {}),
    apiKeyEnv: m.api_key_env ?? defaultKeyEnv(m.provider),
    ...(m.price ? { priceOverride: m.price } : {}),
    ...(isCliProvider(m.provider)
      ? {
          cli: {
            provider: m.provider,
            command: m.command ?? (m.provider === "claude-code" ? "claude" : "codex"),
            commandConfigured: m.command !== undefined,
            apiKeyConfigured: m.api_key_env !== undefined,
          },
        }
      : {}),
  };
}

/**
 * Resolve an alias (config first, then built-ins) or a bare provider model id (`claude-*` is
 * Anthropic, `gpt-*` / `o<digit>*` is OpenAI; a configured model with that id also matches).
 */
export function resolveModel(config: Config, name: string, field = "model"): ResolvedModel {
  const configured = config.models?.[name];
  if (configured) return fromConfig(name, configured);
  const builtin = BUILTIN_MODELS[name];
  if (builtin) return fromConfig(name, builtin);
  for (const [alias, m] of Object.entries(config.models ?? {})) {
    if (m.model === name) return fromConfig(alias, m);
  }
  for (const [alias, m] of Object.entries(BUILTIN_MODELS)) {
    if (m.model === name) return fromConfig(alias, m);
  }
  if (/^claude-/.test(name)) return fromConfig(name, { provider: "anthropic", model: name });
  if (/^(gpt-|o\d)/.test(name)) return fromConfig(name, { provider: "openai", model: name });
  const known = [...Object.keys(config.models ?? {}), ...Object.keys(BUILTIN_MODELS)];
  throw new UserError(
    `${field} "${name}" is not a known model; use one of ${known.join(", ")} or add it under "models" in delegate.config.json.`,
    field,
  );
}

export function executorModel(config: Config, requested?: string): ResolvedModel {
  if (requested) return resolveModel(config, requested);
  return resolveModel(config, config.defaults?.executor ?? DEFAULT_EXECUTOR, "defaults.executor");
}

export function plannerModel(config: Config): ResolvedModel {
  return resolveModel(config, config.defaults?.planner ?? DEFAULT_PLANNER, "defaults.planner");
}

/** Every configured model's key variable: what a validation command must not see, whatever it is called. */
export function keyVariables(config: Config): string[] {
  return [
    ...new Set(Object.values(config.models ?? {}).flatMap((m) => (m.api_key_env ? [m.api_key_env] : []))),
  ];
}
