/**
 * The one way to get a ChatModel. The provider SDKs are imported here, on first use, never at
 * the server's start (cold start matters: an MCP client waits for it).
 */

import type { ResolvedModel } from "../config/models.js";
import { UserError } from "../core/errors.js";
import { bareHost, isLoopbackHost } from "../core/net.js";
import { log } from "../log.js";
import type { ClientSettings } from "./settings.js";
import type { ChatModel } from "./types.js";

export interface CreateChatModelOptions {
  /** Where keys and inherited base URLs are read; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Per HTTP attempt, passed to the SDK; default 300 000 ms. The overall deadline is the request's signal. */
  timeoutMs?: number;
  /** The SDK's own retries (408/409/429/5xx/529, honouring retry-after); default 2. */
  maxRetries?: number;
  /** Stream responses (SSE) instead of waiting for the whole body; default false. */
  stream?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 300_000;
export const DEFAULT_MAX_RETRIES = 2;
/** Sent as the key to an OpenAI-compatible server that needs none (Ollama, LM Studio). */
export const PLACEHOLDER_API_KEY = "no-key";

function nonEmpty(value: string | undefined): string | undefined {
  return value ? value : undefined;
}

/** Where the providers' own keys belong; any other non-loopback host needs the user's consent, whatever the key. */
const OFFICIAL_HOSTS: Record<string, string> = {
  ANTHROPIC_API_KEY: "api.anthropic.com",
  OPENAI_API_KEY: "api.openai.com",
};

/**
 * A repository's own delegate.config.json must not be able to send the user's Anthropic or OpenAI
 * key to a server of its choosing (a cloned repo is not trusted). Throws unless the host is the
 * provider's, a loopback address, or listed in DELEGATE_TRUSTED_HOSTS (comma-separated).
 */
export function assertKeyDestination(model: ResolvedModel, env: NodeJS.ProcessEnv, configPath: string): void {
  // Nothing to leak when no base_url redirects the call or the key variable is unset.
  if (!model.baseURL || !env[model.apiKeyEnv]) return;
  let host: string;
  try {
    host = bareHost(new URL(model.baseURL).hostname);
  } catch {
    return;
  }
  if (host === OFFICIAL_HOSTS[model.apiKeyEnv] || isLoopbackHost(host)) return;
  const trusted = (env.DELEGATE_TRUSTED_HOSTS ?? "").split(",").map((h) => h.trim().toLowerCase());
  if (trusted.includes(host)) return;
  throw new UserError(
    `${configPath} would send ${model.apiKeyEnv} to ${host} (model ${model.alias}); if you trust that host, add it to DELEGATE_TRUSTED_HOSTS in the MCP server's env, or give the model its own api_key_env.`,
    `models.${model.alias}.base_url`,
  );
}

/** What a user without that key can run instead, in the missing-key answer. */
const OTHER_WAYS =
  'or run another way: OPENAI_API_KEY with model gpt-4o-mini, a local Ollama model (provider "openai-compatible", base_url http://127.0.0.1:11434/v1), the claude or codex CLI you are logged in to (providers "claude-code" / "codex", alias haiku-cli), or model "scripted" to try the flow with no model at all (`delegate-mcp init` writes a delegate.config.json for what it finds).';

/**
 * Key and endpoint for `model`, read from `env`. The config's base_url always wins over one
 * inherited from the environment (MCP clients pass their own ANTHROPIC_BASE_URL to servers).
 * Throws UserError when the key is missing, naming the variable and the fix.
 */
export function resolveClientSettings(
  model: ResolvedModel,
  opts: CreateChatModelOptions = {},
): ClientSettings {
  const env = opts.env ?? process.env;
  if (model.provider === "scripted")
    return {
      model,
      apiKey: "",
      baseURL: null,
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxRetries: 0,
      stream: false,
    };
  const inheritedBaseURL = nonEmpty(
    model.provider === "anthropic" ? env.ANTHROPIC_BASE_URL : env.OPENAI_BASE_URL,
  );
  const baseURL = model.baseURL ?? inheritedBaseURL ?? null;
  if (model.provider === "openai-compatible" && baseURL === null) {
    throw new UserError(
      `model ${model.alias} is openai-compatible but has no base_url; set models.${model.alias}.base_url in delegate.config.json.`,
      `models.${model.alias}.base_url`,
    );
  }
  let apiKey = nonEmpty(env[model.apiKeyEnv]);
  if (apiKey === undefined && model.provider === "openai-compatible" && model.baseURL) {
    log.debug(
      `${model.apiKeyEnv} is not set; calling ${model.baseURL} for model ${model.alias} without a key`,
    );
    apiKey = PLACEHOLDER_API_KEY;
  }
  if (apiKey === undefined) {
    throw new UserError(
      `${model.apiKeyEnv} is not set; add it to the MCP server's env or set api_key_env for model ${model.alias} in delegate.config.json, ${OTHER_WAYS}`,
      `models.${model.alias}.api_key_env`,
    );
  }
  return {
    model,
    apiKey,
    baseURL,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxRetries: opts.maxRetries ?? DEFAULT_MAX_RETRIES,
    stream: opts.stream ?? false,
  };
}

/** The provider modules, each with its SDK: loaded on first use. */
const loadAnthropic = () => import("./anthropic.js");
const loadOpenAI = () => import("./openai.js");

/** Loads the SDK module createChatModel would load for `model`, without making a client or reading a key. */
export async function preloadProvider(model: ResolvedModel): Promise<void> {
  if (model.cli || model.provider === "scripted") return;
  await (model.provider === "anthropic" ? loadAnthropic() : loadOpenAI());
}

/**
 * A ChatModel for `model`, loading its SDK now. A missing key rejects with UserError. Calls reject
 * with ProviderError only; an abort through the request's signal is a ProviderError of kind
 * "aborted" whose `cause` is the signal's reason.
 */
export async function createChatModel(
  model: ResolvedModel,
  opts: CreateChatModelOptions = {},
): Promise<ChatModel> {
  const settings = resolveClientSettings(model, opts);
  if (model.provider === "scripted") {
    const { ScriptedModel } = await import("./scripted.js");
    return new ScriptedModel({ provider: model.provider, model: model.model });
  }
  if (model.provider === "anthropic") {
    const { createAnthropicModel } = await loadAnthropic();
    return createAnthropicModel(settings);
  }
  const { createOpenAIModel } = await loadOpenAI();
  return createOpenAIModel(settings, opts.env ?? process.env);
}
