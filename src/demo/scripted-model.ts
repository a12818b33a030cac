import type { ProviderName } from "../core/provider.js";
import { countTokens } from "../core/token-count.js";
import type { Usage } from "../core/usage.js";
import type { ChatModel, Completion, CompletionRequest, ToolCall } from "../providers/types.js";

/** One scripted turn: the tool calls the executor "decides" to make. */
export type ScriptedTurn = { name: string; arguments: Record<string, unknown> }[];

/**
 * The demo's offline executor: replays a fixed script per task title, turn by turn, through the
 * same loop, tools and checks as a real model. Its usage is counted locally from what it is sent
 * and what it answers (o200k, scaled for Claude as in estimates) — computed, not billed.
 */
export class ScriptedModel implements ChatModel {
  readonly provider: ProviderName;
  readonly model: string;

  constructor(
    model: { provider: ProviderName; model: string },
    private readonly scripts: Record<string, ScriptedTurn[]>,
  ) {
    this.provider = model.provider;
    this.model = model.model;
  }

  async complete(req: CompletionRequest): Promise<Completion> {
    if (req.signal?.aborted) throw new Error("aborted");
    const first = req.messages.find((m) => m.role === "user");
    const title = first && "content" in first ? /# Task: (.+)/.exec(first.content)?.[1]?.trim() : undefined;
    const script = title ? this.scripts[title] : undefined;
    const turn = req.messages.filter((m) => m.role === "assistant").length;
    const calls = script?.[turn] ?? [
      { name: "finish", arguments: { status: "failed", summary: "No script for this task." } },
    ];
    const toolCalls: ToolCall[] = calls.map((c, i) => ({
      id: `call_${turn}_${i}`,
      name: c.name,
      arguments: c.arguments,
    }));
    const input = await countTokens(
      `${req.system}\n${JSON.stringify(req.tools)}\n${JSON.stringify(req.messages)}`,
      this.provider,
    );
    const output = await countTokens(JSON.stringify(calls), this.provider);
    const usage: Usage = {
      input_tokens: input,
      output_tokens: output,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
    };
    return { content: "", toolCalls, usage, stopReason: "tool_use", model: this.model };
  }
}
