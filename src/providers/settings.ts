import type { ResolvedModel } from "../config/models.js";
import type { CallContext } from "./failure.js";

/** What create.ts hands a provider: everything read from env and options already settled. */
export interface ClientSettings {
  model: ResolvedModel;
  apiKey: string;
  /** The endpoint; null means the SDK's default. Always passed explicitly, so the SDK reads no env. */
  baseURL: string | null;
  timeoutMs: number;
  maxRetries: number;
  stream: boolean;
}

export function callContext(settings: ClientSettings, baseURL: string): CallContext {
  return {
    provider: settings.model.provider,
    alias: settings.model.alias,
    model: settings.model.model,
    apiKeyEnv: settings.model.apiKeyEnv,
    baseURL,
    timeoutMs: settings.timeoutMs,
    maxRetries: settings.maxRetries,
  };
}
