/** The wire formats a model is called with; config/schema.ts checks a model's `provider` against this list. */
export const PROVIDER_NAMES = ["anthropic", "openai", "openai-compatible"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
