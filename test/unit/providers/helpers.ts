import type { ResolvedModel } from "../../../src/config/models.js";
import type { ProviderName } from "../../../src/core/provider.js";
import { type CreateChatModelOptions, createChatModel } from "../../../src/providers/create.js";
import type { ChatModel, CompletionRequest } from "../../../src/providers/types.js";
import type { FakeLlm } from "../../fakes/llm-server.js";

export const KEY = "sk-test-key";

export function resolved(provider: ProviderName, extra: Partial<ResolvedModel> = {}): ResolvedModel {
  const anthropic = provider === "anthropic";
  return {
    alias: anthropic ? "haiku" : "mini",
    provider,
    model: anthropic ? "claude-haiku-4-5" : "gpt-4o-mini",
    apiKeyEnv: anthropic ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY",
    ...extra,
  };
}

/** A model pointed at the fake through the config's base_url, with a key in a private env. */
export function modelFor(
  llm: FakeLlm,
  provider: ProviderName,
  opts: CreateChatModelOptions = {},
  extra: Partial<ResolvedModel> = {},
): Promise<ChatModel> {
  const baseURL = provider === "anthropic" ? llm.anthropicBaseURL : llm.openaiBaseURL;
  const model = resolved(provider, { baseURL, ...extra });
  return createChatModel(model, {
    env: { [model.apiKeyEnv]: KEY },
    timeoutMs: 10_000,
    maxRetries: 2,
    ...opts,
  });
}

export const TOOLS: CompletionRequest["tools"] = [
  {
    name: "read_file",
    description: "Read a file",
    inputSchema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
  },
  {
    name: "finish",
    description: "End the task",
    inputSchema: { type: "object", properties: { status: { type: "string" }, summary: { type: "string" } } },
  },
];

export function request(extra: Partial<CompletionRequest> = {}): CompletionRequest {
  return {
    system: "You are the executor.",
    messages: [{ role: "user", content: "Do the task." }],
    tools: TOOLS,
    maxTokens: 512,
    ...extra,
  };
}

/** The rejection of `promise`, failing the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail, but it succeeded");
}
