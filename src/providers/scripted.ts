import type { ProviderName } from "../core/provider.js";
import { countTokens } from "../core/token-count.js";
import type { Usage } from "../core/usage.js";
import type { ChatModel, Completion, CompletionRequest, Message, ToolCall } from "./types.js";

/** One scripted turn: the tool calls the executor "decides" to make. */
export type ScriptedTurn = { name: string; arguments: Record<string, unknown> }[];

/** What every report line of the scripted executor starts with: it must never pass for a model. */
export const SCRIPTED_LABEL = "scripted executor, not a model";

interface TaskShape {
  files: { path: string; action: string }[];
  snippets: string[];
}

/** Files to modify and snippets, from the task as the executor is given it (core/render). */
function taskShape(prompt: string): TaskShape {
  const files = [
    ...(/^Files to modify:\n((?:- .+\n?)+)/m.exec(prompt)?.[1] ?? "").matchAll(
      /^- (.+) \((create|edit)\)$/gm,
    ),
  ].map((m) => ({ path: m[1]!, action: m[2]! }));
  const section =
    /^Snippets:\n([\s\S]*?)(?:\n\n(?:Acceptance criteria|Validation)|(?![\s\S]))/m.exec(prompt)?.[1] ?? "";
  const snippets = [...section.matchAll(/^(`{3,})[^\n]*\n([\s\S]*?)\n\1$/gm)].map((m) => m[2]!);
  return { files, snippets };
}

/** A file's text back from a read_file reply ("path lines 1-N of N:\n1\tline..."). */
function textOfRead(reply: string): string {
  const lines = reply.split("\n").slice(1);
  return lines.length ? `${lines.map((l) => l.replace(/^\d+\t/, "")).join("\n")}\n` : "";
}

function finish(status: "complete" | "failed", summary: string): ScriptedTurn {
  return [{ name: "finish", arguments: { status, summary: `${SCRIPTED_LABEL}: ${summary}` } }];
}

/**
 * The turns for a task it has no script for: it applies the spec's snippets, one per file to
 * modify (or all of them to a single file): a file to create gets its snippet, a file to edit gets
 * it appended. Then the server's validation, then finish. Nothing is inferred: no snippet, no edit.
 */
function snippetTurn(prompt: string, messages: Message[], turn: number): ScriptedTurn {
  const { files, snippets } = taskShape(prompt);
  const paired =
    files.length === 1 && snippets.length >= 1
      ? [{ ...files[0]!, code: snippets.join("\n\n") }]
      : files.length > 0 && files.length === snippets.length
        ? files.map((f, i) => ({ ...f, code: snippets[i]! }))
        : null;
  if (!paired)
    return finish(
      "failed",
      `it only applies snippets, one per file to modify, and this task has ${files.length} file(s) and ${snippets.length} snippet(s); give each file its snippet, or dispatch with a real model.`,
    );
  const edits = paired.filter((f) => f.action === "edit");
  const writeTurn = edits.length ? 1 : 0;
  if (turn < writeTurn) return edits.map((f) => ({ name: "read_file", arguments: { path: f.path } }));
  if (turn === writeTurn) {
    const reads = messages.flatMap((m) => (m.role === "tool" ? m.results : []));
    return paired.map((f) => {
      if (f.action !== "edit")
        return { name: "write_file", arguments: { path: f.path, content: `${f.code}\n` } };
      const i = edits.indexOf(f);
      const current = textOfRead(reads.find((r) => r.toolCallId === `call_0_${i}`)?.content ?? "");
      const gap = current === "" || current.endsWith("\n\n") ? "" : "\n";
      return { name: "write_file", arguments: { path: f.path, content: `${current}${gap}${f.code}\n` } };
    });
  }
  if (turn === writeTurn + 1) return [{ name: "run_validation", arguments: {} }];
  const done = paired.map((f) => `${f.action === "edit" ? "appended its snippet to" : "created"} ${f.path}`);
  return finish("complete", `${done.join("; ")}. The server's validation decides whether it passed.`);
}

/**
 * The offline executor of the demo and of the built-in alias `scripted` (a keyless try-out): it
 * replays a fixed script per task title when it has one, otherwise applies the spec's snippets —
 * through the same loop, tools and checks as a real model. Its usage is counted locally from what
 * it is sent and what it answers (o200k, scaled for Claude as in estimates): computed, not billed.
 */
export class ScriptedModel implements ChatModel {
  readonly provider: ProviderName;
  readonly model: string;

  constructor(
    model: { provider: ProviderName; model: string },
    private readonly scripts: Record<string, ScriptedTurn[]> = {},
  ) {
    this.provider = model.provider;
    this.model = model.model;
  }

  async complete(req: CompletionRequest): Promise<Completion> {
    if (req.signal?.aborted) throw new Error("aborted");
    const first = req.messages.find((m) => m.role === "user");
    const prompt = first && "content" in first ? first.content : "";
    const title = /# Task: (.+)/.exec(prompt)?.[1]?.trim();
    const script = title ? this.scripts[title] : undefined;
    const turn = req.messages.filter((m) => m.role === "assistant").length;
    const calls = script
      ? (script[turn] ?? finish("failed", "the script has no more turns."))
      : snippetTurn(prompt, req.messages, turn);
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
