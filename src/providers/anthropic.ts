/**
 * ChatModel over the Anthropic Messages API. Imports the SDK at load, so only create.ts loads
 * this file, and only when a model is created (the server's start must not pay for the SDK).
 */
import Anthropic, {
  AnthropicError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from "@anthropic-ai/sdk";
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
import { mayCache } from "./prompt-cache.js";
import { type ClientSettings, callContext } from "./settings.js";
import { objectArguments, parseToolArguments } from "./tool-arguments.js";
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

type Params = Anthropic.MessageCreateParamsNonStreaming;
const EPHEMERAL = { type: "ephemeral" } as const;

export function createAnthropicModel(settings: ClientSettings): ChatModel {
  const client = new Anthropic({
    apiKey: settings.apiKey,
    baseURL: settings.baseURL,
    timeout: settings.timeoutMs,
    maxRetries: settings.maxRetries,
    logger: sdkLogger("anthropic"),
  });
  return new AnthropicChatModel(
    client,
    settings.model.model,
    settings.stream,
    callContext(settings, client.baseURL),
  );
}

class AnthropicChatModel implements ChatModel {
  readonly provider = "anthropic" as const;

  constructor(
    private readonly client: Anthropic,
    readonly model: string,
    private readonly stream: boolean,
    private readonly ctx: CallContext,
  ) {}

  async complete(req: CompletionRequest): Promise<Completion> {
    const params = toParams(this.model, req);
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
    const message = await this.client.messages.create(params, { signal });
    if (!message || !Array.isArray(message.content)) {
      throw malformedFailure(this.ctx, "the body has no content array");
    }
    let content = "";
    const toolCalls: ToolCall[] = [];
    for (const block of message.content) {
      if (block.type === "text") content += block.text;
      else if (block.type === "tool_use") {
        toolCalls.push({ id: block.id, name: block.name, ...objectArguments(block.input) });
      }
    }
    return {
      content,
      toolCalls,
      usage: toUsage(message.usage, this.ctx),
      stopReason: toStopReason(message.stop_reason, toolCalls.length > 0),
      model: message.model || this.model,
    };
  }

  private async streamed(params: Params, signal: AbortSignal | undefined, seen: Seen): Promise<Completion> {
    const events = await this.client.messages.create({ ...params, stream: true }, { signal });
    const blocks = new Map<
      number,
      { text: string } | { id: string; name: string; json: string; input: unknown }
    >();
    let usage: Usage | undefined;
    let stopReason: string | null = null;
    let model = this.model;
    let stopped = false;
    for await (const event of readStream(events, this.ctx, (e) => e instanceof AnthropicError)) {
      switch (event.type) {
        case "message_start":
          model = event.message.model || model;
          usage = toUsage(event.message.usage, this.ctx);
          seen.usage = usage;
          break;
        case "content_block_start":
          if (event.content_block.type === "text")
            blocks.set(event.index, { text: event.content_block.text });
          else if (event.content_block.type === "tool_use") {
            const { id, name, input } = event.content_block;
            blocks.set(event.index, { id, name, json: "", input });
          }
          break;
        case "content_block_delta": {
          const block = blocks.get(event.index);
          if (event.delta.type === "text_delta" && block && "text" in block) block.text += event.delta.text;
          else if (event.delta.type === "input_json_delta" && block && "json" in block)
            block.json += event.delta.partial_json;
          break;
        }
        case "message_delta": {
          stopReason = event.delta.stop_reason ?? stopReason;
          // message_delta usage is cumulative; input and cache counts may be null here (and
          // some proxies send no usage at all).
          const u: Partial<Anthropic.MessageDeltaUsage> = event.usage ?? {};
          usage = {
            input_tokens: u.input_tokens ?? usage?.input_tokens ?? 0,
            output_tokens: u.output_tokens ?? usage?.output_tokens ?? 0,
            cache_read_tokens: u.cache_read_input_tokens ?? usage?.cache_read_tokens ?? 0,
            cache_write_tokens: u.cache_creation_input_tokens ?? usage?.cache_write_tokens ?? 0,
          };
          seen.usage = usage;
          break;
        }
        case "message_stop":
          stopped = true;
          break;
      }
    }
    // The SDK ends the iteration quietly when the request is aborted mid-stream.
    if (signal?.aborted) throw abortFailure(this.ctx, signal);
    if (!stopped) throw malformedFailure(this.ctx, "the stream ended before message_stop");
    let content = "";
    const toolCalls: ToolCall[] = [];
    for (const [, block] of [...blocks].sort(([a], [b]) => a - b)) {
      if ("text" in block) content += block.text;
      else {
        const args = block.json === "" ? objectArguments(block.input ?? {}) : parseToolArguments(block.json);
        toolCalls.push({ id: block.id, name: block.name, ...args });
      }
    }
    return {
      content,
      toolCalls,
      usage: usage ?? missingUsage(this.ctx),
      stopReason: toStopReason(stopReason, toolCalls.length > 0),
      model,
    };
  }
}

/**
 * Cache breakpoints only where they can pay (prefixes under the model's minimum are never cached):
 * on the growing conversation's newest block, so turn n+1 of the executor loop reads turns 1..n
 * from cache (0.1× input) — and on the tools+system prefix only when it reaches the minimum alone.
 */
function toParams(model: string, req: CompletionRequest): Params {
  const last = req.tools.length - 1;
  const tools = req.tools.map(
    (tool): Anthropic.Tool => ({
      name: tool.name,
      description: tool.description,
      input_schema: tool.inputSchema as Anthropic.Tool.InputSchema,
    }),
  );
  const system: Anthropic.TextBlockParam[] = req.system ? [{ type: "text", text: req.system }] : [];
  const messages = toMessages(req.messages);
  const prefixChars = JSON.stringify(tools).length + req.system.length;
  if (mayCache(model, prefixChars)) {
    const stable = system[0] ?? tools[last];
    if (stable) Object.assign(stable, { cache_control: EPHEMERAL });
  }
  const newest = messages.at(-1)?.content;
  const lastBlock = Array.isArray(newest) ? newest.at(-1) : undefined;
  if (
    lastBlock &&
    lastBlock.type !== "thinking" &&
    lastBlock.type !== "redacted_thinking" &&
    mayCache(model, prefixChars + JSON.stringify(messages).length)
  ) {
    Object.assign(lastBlock, { cache_control: EPHEMERAL });
  }
  return {
    model,
    max_tokens: req.maxTokens,
    ...(system.length ? { system } : {}),
    messages,
    ...(tools.length > 0 ? { tools } : {}),
  };
}

/** Tool results travel in a user turn; consecutive user turns are merged, results first. */
function toMessages(messages: Message[]): Anthropic.MessageParam[] {
  const out: { role: "user" | "assistant"; content: Anthropic.ContentBlockParam[] }[] = [];
  const push = (role: "user" | "assistant", blocks: Anthropic.ContentBlockParam[]) => {
    const prev = out[out.length - 1];
    if (prev && prev.role === role && role === "user") prev.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const m of messages) {
    if (m.role === "user") push("user", [{ type: "text", text: m.content }]);
    else if (m.role === "tool") {
      push(
        "user",
        m.results.map((r) => ({
          type: "tool_result" as const,
          tool_use_id: r.toolCallId,
          content: r.content,
          ...(r.isError ? { is_error: true } : {}),
        })),
      );
    } else {
      const blocks: Anthropic.ContentBlockParam[] = [];
      if (m.content) blocks.push({ type: "text", text: m.content });
      for (const call of m.toolCalls ?? []) {
        blocks.push({ type: "tool_use", id: call.id, name: call.name, input: call.arguments });
      }
      // The API rejects an empty assistant turn.
      if (blocks.length === 0) blocks.push({ type: "text", text: "(no output)" });
      push("assistant", blocks);
    }
  }
  return out;
}

function toUsage(u: Partial<Anthropic.Usage> | undefined | null, ctx: CallContext): Usage {
  if (!u) return missingUsage(ctx);
  return {
    input_tokens: u.input_tokens ?? 0,
    output_tokens: u.output_tokens ?? 0,
    cache_read_tokens: u.cache_read_input_tokens ?? 0,
    cache_write_tokens: u.cache_creation_input_tokens ?? 0,
  };
}

function missingUsage(ctx: CallContext): Usage {
  log.warn(`${ctx.provider} reported no usage for ${ctx.model}; counting 0 tokens for this call`);
  return zeroUsage();
}

function toStopReason(reason: string | null | undefined, hasToolCalls: boolean): Completion["stopReason"] {
  if (reason === "max_tokens") return "max_tokens";
  if (reason === "tool_use" || hasToolCalls) return "tool_use";
  if (reason === "end_turn" || reason === "stop_sequence") return "end_turn";
  return "other";
}

function toFailure(err: unknown, ctx: CallContext, signal: AbortSignal | undefined): unknown {
  if (err instanceof ProviderError) return err;
  if (signal?.aborted) return abortFailure(ctx, signal);
  if (err instanceof APIUserAbortError) return abortFailure(ctx, AbortSignal.abort(err));
  if (err instanceof APIConnectionTimeoutError) return timeoutFailure(ctx, err);
  if (err instanceof APIConnectionError) return connectionFailure(ctx, err);
  if (err instanceof APIError) return httpFailure(ctx, err.status, err.type, err.apiMessage, err);
  if (err instanceof SyntaxError) return malformedFailure(ctx, err.message, err);
  return err;
}
