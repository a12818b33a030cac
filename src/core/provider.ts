/** The wire formats a model is called with; config/schema.ts checks a model's `provider` against this list. */
// "scripted" is the demo's executor (built-in alias `scripted`): a keyless try-out, not a model.
export const PROVIDER_NAMES = [
  "anthropic",
  "openai",
  "openai-compatible",
  "claude-code",
  "codex",
  "scripted",
] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** Providers that run the user's own agent CLI headless as the executor (DESIGN "Providers"). */
export type CliProviderName = "claude-code" | "codex";

export function isCliProvider(provider: ProviderName): provider is CliProviderName {
  return provider === "claude-code" || provider === "codex";
}

/** The API whose wire format, prices and tokenizer a provider's model uses. */
export function apiFamily(provider: ProviderName): "anthropic" | "openai" | "openai-compatible" {
  if (provider === "claude-code") return "anthropic";
  if (provider === "codex" || provider === "scripted") return "openai";
  return provider;
}
