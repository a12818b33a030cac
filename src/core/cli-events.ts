/**
 * The event streams of the agent CLIs the executor can run (claude -p --output-format stream-json,
 * codex exec --json), read into what the server needs: turns, usage, errors. Pure: one line in,
 * one event out; usage accounting in a small tracker that never counts a token twice.
 */
import { addUsage, type Usage, zeroUsage } from "./usage.js";

export type CliEvent =
  | { kind: "init"; mcpServers: { name: string; status: string }[]; tools: string[]; apiKeySource?: string }
  | { kind: "assistant"; messageId: string; usage: Usage; toolCalls: string[]; text: string }
  | { kind: "tool_results" }
  | { kind: "retry"; status: number | null; error: string }
  | {
      kind: "result";
      subtype: string;
      isError: boolean;
      turns: number;
      usage: Usage;
      text: string;
      apiErrorStatus: number | null;
    }
  /** Codex: an item (command, file change, message) finished. */
  | { kind: "item"; itemType: string; text: string }
  /** Codex: one turn ended; its usage covers every model call of the turn. */
  | { kind: "turn_completed"; usage: Usage }
  | { kind: "failed"; message: string }
  /** Codex: a message it may recover from (a reconnect); the last one explains a failure. */
  | { kind: "notice"; message: string }
  | { kind: "other" };

// biome-ignore lint/suspicious/noExplicitAny: CLI JSON, read defensively
type Json = any;

function count(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

/** Anthropic usage fields (input_tokens already excludes cached tokens on this wire). */
export function anthropicUsage(u: Json): Usage {
  return {
    input_tokens: count(u?.input_tokens),
    output_tokens: count(u?.output_tokens),
    cache_read_tokens: count(u?.cache_read_input_tokens),
    cache_write_tokens: count(u?.cache_creation_input_tokens),
  };
}

/** Codex usage: input_tokens includes the cached (and cache-written) ones, which are split out here. */
export function codexUsage(u: Json): Usage {
  const input = count(u?.input_tokens);
  const cached = Math.min(input, count(u?.cached_input_tokens));
  const written = Math.min(input - cached, count(u?.cache_write_input_tokens));
  return {
    input_tokens: input - cached - written,
    output_tokens: count(u?.output_tokens),
    cache_read_tokens: cached,
    cache_write_tokens: written,
  };
}

function parse(line: string): Json | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return null;
  try {
    return JSON.parse(trimmed);
  } catch {
    return null;
  }
}

function textOf(content: Json): string {
  if (!Array.isArray(content)) return "";
  return content
    .filter((b: Json) => b?.type === "text" && typeof b.text === "string")
    .map((b: Json) => b.text)
    .join("");
}

/** One line of `claude -p --output-format stream-json --verbose`. */
export function parseClaudeLine(line: string): CliEvent | null {
  const e = parse(line);
  if (!e || typeof e.type !== "string") return null;
  if (e.type === "system" && e.subtype === "init") {
    return {
      kind: "init",
      mcpServers: Array.isArray(e.mcp_servers)
        ? e.mcp_servers.map((s: Json) => ({ name: String(s?.name), status: String(s?.status) }))
        : [],
      tools: Array.isArray(e.tools) ? e.tools.map(String) : [],
      ...(typeof e.apiKeySource === "string" ? { apiKeySource: e.apiKeySource } : {}),
    };
  }
  if (e.type === "system" && e.subtype === "api_retry") {
    return {
      kind: "retry",
      status: typeof e.error_status === "number" ? e.error_status : null,
      error: String(e.error ?? "unknown"),
    };
  }
  if (e.type === "assistant" && e.message && typeof e.message.id === "string") {
    const content = Array.isArray(e.message.content) ? e.message.content : [];
    return {
      kind: "assistant",
      messageId: e.message.id,
      usage: anthropicUsage(e.message.usage),
      toolCalls: content.filter((b: Json) => b?.type === "tool_use").map((b: Json) => String(b.name)),
      text: textOf(content),
    };
  }
  if (e.type === "user") return { kind: "tool_results" };
  if (e.type === "result") {
    return {
      kind: "result",
      subtype: String(e.subtype ?? ""),
      isError: e.is_error === true,
      turns: count(e.num_turns),
      usage: anthropicUsage(e.usage),
      text: typeof e.result === "string" ? e.result : "",
      apiErrorStatus: typeof e.api_error_status === "number" ? e.api_error_status : null,
    };
  }
  return { kind: "other" };
}

/** One line of `codex exec --json`. */
export function parseCodexLine(line: string): CliEvent | null {
  const e = parse(line);
  if (!e || typeof e.type !== "string") return null;
  if (e.type === "turn.completed") return { kind: "turn_completed", usage: codexUsage(e.usage) };
  if (e.type === "turn.failed") return { kind: "failed", message: String(e.error?.message ?? "turn failed") };
  if (e.type === "error") return { kind: "notice", message: String(e.message ?? "error") };
  if (e.type === "item.completed" && e.item && typeof e.item.type === "string") {
    const text =
      typeof e.item.text === "string"
        ? e.item.text
        : typeof e.item.message === "string"
          ? e.item.message
          : "";
    return { kind: "item", itemType: e.item.type, text };
  }
  return { kind: "other" };
}

function minus(a: Usage, b: Usage): Usage {
  return {
    input_tokens: Math.max(0, a.input_tokens - b.input_tokens),
    output_tokens: Math.max(0, a.output_tokens - b.output_tokens),
    cache_read_tokens: Math.max(0, a.cache_read_tokens - b.cache_read_tokens),
    cache_write_tokens: Math.max(0, a.cache_write_tokens - b.cache_write_tokens),
  };
}

function isZero(u: Usage): boolean {
  return u.input_tokens + u.output_tokens + u.cache_read_tokens + u.cache_write_tokens === 0;
}

/**
 * Claude Code reports each request's usage on its assistant events, but an event goes out before
 * the request's last output tokens are known; the result event then has the exact totals. The
 * tracker hands out each request's usage once, as soon as it is seen, and at the result the
 * remainder, so the records add up to the CLI's totals and a run killed midway keeps what it saw.
 */
export class CliUsageTracker {
  private readonly seen = new Map<string, Usage>();
  private recorded = zeroUsage();
  private requests = 0;

  /** Usage not yet handed out for this request (the whole of it on first sight). */
  assistant(messageId: string, usage: Usage): { usage: Usage; newRequest: boolean } | null {
    const before = this.seen.get(messageId);
    const newRequest = before === undefined;
    if (newRequest) this.requests++;
    const delta = minus(usage, before ?? zeroUsage());
    this.seen.set(messageId, before ? addUsage(before, delta) : usage);
    if (isZero(delta) && !newRequest) return null;
    this.recorded = addUsage(this.recorded, delta);
    return { usage: delta, newRequest };
  }

  /** At the end: what the CLI's totals hold beyond what was handed out, or null when nothing. */
  remainder(total: Usage): Usage | null {
    const rest = minus(total, this.recorded);
    if (isZero(rest)) return null;
    this.recorded = addUsage(this.recorded, rest);
    return rest;
  }

  /** A complete usage record (codex: one per turn). */
  add(usage: Usage): void {
    this.recorded = addUsage(this.recorded, usage);
  }

  get total(): Usage {
    return this.recorded;
  }

  /** Model requests seen (distinct message ids). */
  get turns(): number {
    return this.requests;
  }
}
