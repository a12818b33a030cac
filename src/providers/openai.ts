/**
 * ChatModel over OpenAI Chat Completions: OpenAI itself and OpenAI-compatible endpoints (Ollama,
 * LM Studio, vLLM, OpenRouter) by base URL. Imports the SDK at load, so only create.ts loads this
 * file, and only when a model is created.
 */
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  OpenAIError,
} from "openai";
import { type Usage, zeroUsage } from "../core/usage.js";
import { log } from "../log.js";
import {
  abortFailure,
  type CallContext,
  connectionFailure,
  httpFailure,
  malformedFailure,
  readStream,
  sdkLogger,
  timeoutFailure,
  untilAborted,
} from "./failure.js";
import { type ClientSettings, callContext } from "./settings.js";
import { parseToolArguments } from "./tool-arguments.js";
import {
  type ChatModel,
  type Completion,
  type CompletionRequest,
  type Message,
  ProviderError,
  type ToolCall,
} from "./types.js";

/** What a stream reported before it failed, so the failure can carry it. */
interface Seen {
  usage?: Usage;
}

type Params = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;

export function createOpenAIModel(settings: ClientSettings, env: NodeJS.ProcessEnv): ChatModel {
  const official = settings.model.provider === "openai";
  const client = new OpenAI({
    apiKey: settings.apiKey,
    baseURL: settings.baseURL,
    // Organization and project headers belong to OpenAI only; an admin key is never sent.
    organization: official ? (env.OPENAI_ORG_ID ?? null) : null,
    project: official ? (env.OPENAI_PROJECT_ID ?? null) : null,
    adminAPIKey: null,
    timeout: settings.timeoutMs,
    maxRetries: settings.maxRetries,
    logger: sdkLogger(settings.model.provider),
  });
  return new OpenAIChatModel(client, settings, callContext(settings, client.baseURL));
}

class OpenAIChatModel implements ChatModel {
  readonly provider: ClientSettings["model"]["provider"];
  readonly model: string;
  private readonly stream: boolean;

  constructor(
    private readonly client: OpenAI,
    settings: ClientSettings,
    private readonly ctx: CallContext,
  ) {
    this.provider = settings.model.provider;
    this.model = settings.model.model;
    this.stream = settings.stream;
  }

  async complete(req: CompletionRequest): Promise<Completion> {
    const params = toParams(this.provider === "openai", this.model, req);
    const seen: Seen = {};
    const work = this.stream ? this.streamed(params, req.signal, seen) : this.whole(params, req.signal);
    try {
      return await untilAborted(work, req.signal, this.ctx);
    } catch (err) {
      const failure = toFailure(err, this.ctx, req.signal);
      if (failure instanceof ProviderError && seen.usage) failure.usage = seen.usage;
      throw failure;
    }
  }

  private async whole(params: Params, signal: AbortSignal | undefined): Promise<Completion> {
    const completion = await this.client.chat.completions.create(params, { signal });
    const choice = Array.isArray(completion?.choices) ? completion.choices[0] : undefined;
    if (!choice?.message) throw malformedFailure(this.ctx, "the body has no choices[0].message");
    const toolCalls: ToolCall[] = [];
    for (const [i, call] of (choice.message.tool_calls ?? []).entries()) {
      if (call.type !== "function") continue;
      toolCalls.push({
        id: call.id || `call_${i}`,
        name: call.function.name,
        ...parseToolArguments(call.function.arguments ?? ""),
      });
    }
    return {
      content: choice.message.content ?? "",
      toolCalls,
      usage: toUsage(completion.usage, this.ctx),
      stopReason: toStopReason(choice.finish_reason, toolCalls.length > 0),
      model: completion.model || this.model,
    };
  }

  private async streamed(params: Params, signal: AbortSignal | undefined, seen: Seen): Promise<Completion> {
    const chunks = await this.client.chat.completions.create(
      { ...params, stream: true, stream_options: { include_usage: true } },
      { signal },
    );
    let content = "";
    const calls = new Map<number, { id: string; name: string; json: string }>();
    let usage: Usage | undefined;
    let finish: string | null = null;
    let model = this.model;
    for await (const chunk of readStream(chunks, this.ctx, (e) => e instanceof OpenAIError)) {
      if (chunk.model) model = chunk.model;
      if (chunk.usage) {
        usage = toUsage(chunk.usage, this.ctx);
        seen.usage = usage;
      }
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      if (choice.delta?.content) content += choice.delta.content;
      for (const delta of choice.delta?.tool_calls ?? []) {
        let call = calls.get(delta.index);
        if (!call) {
          call = { id: "", name: "", json: "" };
          calls.set(delta.index, call);
        }
        if (delta.id) call.id = delta.id;
        if (delta.function?.name && !call.name) call.name = delta.function.name;
        if (delta.function?.arguments) call.json += delta.function.arguments;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    // The SDK ends the iteration quietly when the request is aborted mid-stream.
    if (signal?.aborted) throw abortFailure(this.ctx, signal);
    if (finish === null) throw malformedFailure(this.ctx, "the stream ended without a finish_reason");
    const toolCalls: ToolCall[] = [...calls]
      .sort(([a], [b]) => a - b)
      .map(([index, call]) => ({
        id: call.id || `call_${index}`,
        name: call.name,
        ...parseToolArguments(call.json),
      }));
    return {
      content,
      toolCalls,
      usage: usage ?? missingUsage(this.ctx),
      stopReason: toStopReason(finish, toolCalls.length > 0),
      model,
    };
  }
}

/** OpenAI's own models take max_completion_tokens (reasoning models reject max_tokens); compatible servers know max_tokens. */
function toParams(official: boolean, model: string, req: CompletionRequest): Params {
  return {
    model,
    messages: [
      ...(req.system ? [{ role: "system" as const, content: req.system }] : []),
      ...toMessages(req.messages),
    ],
    ...(req.tools.length > 0
      ? {
          tools: req.tools.map((tool) => ({
            type: "function" as const,
            function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
          })),
        }
      : {}),
    ...(official ? { max_completion_tokens: req.maxTokens } : { max_tokens: req.maxTokens }),
  };
}

function toMessages(messages: Message[]): OpenAI.Chat.ChatCompletionMessageParam[] {
  const out: OpenAI.Chat.ChatCompletionMessageParam[] = [];
  for (const m of messages) {
    if (m.role === "user") out.push({ role: "user", content: m.content });
    else if (m.role === "tool") {
      // The wire has no error flag for a tool result, so the text says it.
      for (const r of m.results) {
        out.push({
          role: "tool",
          tool_call_id: r.toolCallId,
          content: r.isError ? `Error: ${r.content}` : r.content,
        });
      }
    } else {
      const calls = m.toolCalls ?? [];
      out.push({
        role: "assistant",
        content: m.content || (calls.length > 0 ? null : ""),
        ...(calls.length > 0
          ? {
              tool_calls: calls.map((c) => ({
                id: c.id,
                type: "function" as const,
                function: { name: c.name, arguments: JSON.stringify(c.arguments) },
              })),
            }
          : {}),
      });
    }
  }
  return out;
}

/** prompt_tokens includes cache reads (and, where reported, cache writes): subtract them. */
function toUsage(u: OpenAI.CompletionUsage | undefined | null, ctx: CallContext): Usage {
  if (!u) return missingUsage(ctx);
  const cacheRead = u.prompt_tokens_details?.cached_tokens ?? 0;
  const cacheWrite = u.prompt_tokens_details?.cache_write_tokens ?? 0;
  return {
    input_tokens: Math.max(0, (u.prompt_tokens ?? 0) - cacheRead - cacheWrite),
    output_tokens: u.completion_tokens ?? 0,
    cache_read_tokens: cacheRead,
    cache_write_tokens: cacheWrite,
  };
}

function missingUsage(ctx: CallContext): Usage {
  log.warn(`${ctx.provider} reported no usage for ${ctx.model}; counting 0 tokens for this call`);
  return zeroUsage();
}

/** Some compatible servers say "stop" even when they called tools. */
function toStopReason(reason: string | null | undefined, hasToolCalls: boolean): Completion["stopReason"] {
  if (reason === "length") return "max_tokens";
  if (reason === "tool_calls" || reason === "function_call" || hasToolCalls) return "tool_use";
  if (reason === "stop") return "end_turn";
  return "other";
}

function toFailure(err: unknown, ctx: CallContext, signal: AbortSignal | undefined): unknown {
  if (err instanceof ProviderError) return err;
  if (signal?.aborted) return abortFailure(ctx, signal);
  if (err instanceof APIUserAbortError) return abortFailure(ctx, AbortSignal.abort(err));
  if (err instanceof APIConnectionTimeoutError) return timeoutFailure(ctx, err);
  if (err instanceof APIConnectionError) return connectionFailure(ctx, err);
  if (err instanceof APIError) {
    const body = err.error as { message?: unknown } | undefined;
    const apiMessage = typeof body?.message === "string" ? body.message : null;
    return httpFailure(ctx, err.status, err.type ?? err.code ?? null, apiMessage, err);
  }
  if (err instanceof SyntaxError) return malformedFailure(ctx, err.message, err);
  return err;
}
