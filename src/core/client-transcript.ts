import type { Usage } from "./usage.js";

/**
 * The planner's side of a Claude Code session, read from its transcript lines: usage, model,
 * timestamps, tool names and this server's own tool arguments that name a project or task.
 * Message text is never kept.
 */

/** This server's tools, as the planner calls them (`mcp__<server>__<tool>`). */
export const DELEGATE_TOOLS = [
  "create_mini_task",
  "dispatch_to_small_model",
  "get_task",
  "list_tasks",
  "should_delegate",
  "review_task",
  "accept_task",
  "discard_task",
  "run_validation",
  "log_tokens",
  "savings_report",
] as const;
export type DelegateTool = (typeof DELEGATE_TOOLS)[number];

/** The calls that check delegated work; they count as verification once the project has dispatched. */
export const VERIFICATION_TOOLS: ReadonlySet<DelegateTool> = new Set([
  "review_task",
  "accept_task",
  "discard_task",
  "run_validation",
]);

export interface DelegateCall {
  tool: DelegateTool;
  /** The project its arguments name (project, task_id, task_ids, template or specs), else null. */
  project: string | null;
}

/** One API message of the planner, counted once. */
export interface PlannerMessage {
  /** message.id + requestId: the same message written on several lines while it streamed. */
  key: string;
  id: string;
  requestId: string | null;
  model: string;
  ts: string;
  sidechain: boolean;
  usage: Usage;
  calls: DelegateCall[];
  /** Order of first appearance in the transcript (subagent files after the main file). */
  seq: number;
}

/** A line of the transcript, reduced to what attribution needs. */
export type TranscriptLine =
  | { kind: "prompt"; ts: string; seq: number }
  | { kind: "message"; message: Omit<PlannerMessage, "seq" | "key"> & { seq: number } };

const DELEGATE_TOOL_SET: ReadonlySet<string> = new Set(DELEGATE_TOOLS);
const MCP_TOOL_RE = /^mcp__.+__([a-z_]+)$/;
const SLUG_PREFIX_RE = /^([a-z0-9][a-z0-9-]{0,63})(?:\/|$)/;

function count(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

function str(v: unknown): string | null {
  return typeof v === "string" && v.length > 0 ? v : null;
}

/** The project a delegate call names: `project`, else the slug before the `/` of a task or template id. */
function projectOf(input: unknown): string | null {
  if (!input || typeof input !== "object") return null;
  const a = input as Record<string, unknown>;
  const fromId = (v: unknown) => {
    const s = str(v);
    return s ? (SLUG_PREFIX_RE.exec(s)?.[1] ?? null) : null;
  };
  if (str(a.project)) return fromId(a.project);
  const direct = fromId(a.task_id) ?? fromId(a.template);
  if (direct) return direct;
  if (Array.isArray(a.task_ids)) return fromId(a.task_ids[0]);
  if (Array.isArray(a.specs) && a.specs[0] && typeof a.specs[0] === "object") {
    return fromId((a.specs[0] as Record<string, unknown>).project);
  }
  return null;
}

/** Total tokens of a usage: which of a message's streamed lines saw the most. */
export function usageSize(u: Usage): number {
  return u.input_tokens + u.output_tokens + u.cache_read_tokens + u.cache_write_tokens;
}

// Structural markers: inside JSON strings quotes are escaped, so these only match real keys.
const ASSISTANT_MARK = '"type":"assistant"';
const USER_MARK = '"type":"user"';
const TOOL_RESULT_MARK = '"type":"tool_result"';

/**
 * One transcript line → a planner message or a user prompt, or null for anything else (tool
 * results, attachments, summaries, a line that is not JSON). Lines that cannot matter are
 * skipped without parsing: a transcript is mostly tool results.
 */
export function parseTranscriptLine(line: string, seq: number): TranscriptLine | null {
  const assistant = line.includes(ASSISTANT_MARK);
  if (!assistant && (!line.includes(USER_MARK) || line.includes(TOOL_RESULT_MARK))) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  if (!raw || typeof raw !== "object") return null;
  const rec = raw as Record<string, unknown>;
  const ts = str(rec.timestamp);
  if (!ts || Number.isNaN(Date.parse(ts))) return null;
  if (rec.type === "user") {
    if (rec.isSidechain === true || rec.isMeta === true || rec.isCompactSummary === true) return null;
    const message = rec.message as { role?: unknown; content?: unknown } | undefined;
    const content = message?.content;
    const typed = typeof content === "string" || (Array.isArray(content) && content.length > 0);
    return typed ? { kind: "prompt", ts, seq } : null;
  }
  if (rec.type !== "assistant") return null;
  const message = rec.message as Record<string, unknown> | undefined;
  if (!message || typeof message !== "object") return null;
  const id = str(message.id);
  const model = str(message.model);
  // Claude Code writes "<synthetic>" messages for errors it shows; no API call was made.
  if (!id || !model || model === "<synthetic>") return null;
  const u = (message.usage ?? {}) as Record<string, unknown>;
  const calls: DelegateCall[] = [];
  if (Array.isArray(message.content)) {
    for (const block of message.content as Record<string, unknown>[]) {
      if (block?.type !== "tool_use" || typeof block.name !== "string") continue;
      const tool = MCP_TOOL_RE.exec(block.name)?.[1];
      if (tool && DELEGATE_TOOL_SET.has(tool)) {
        calls.push({ tool: tool as DelegateTool, project: projectOf(block.input) });
      }
    }
  }
  return {
    kind: "message",
    message: {
      id,
      requestId: str(rec.requestId),
      model,
      ts,
      sidechain: rec.isSidechain === true,
      usage: {
        input_tokens: count(u.input_tokens),
        output_tokens: count(u.output_tokens),
        cache_read_tokens: count(u.cache_read_input_tokens),
        cache_write_tokens: count(u.cache_creation_input_tokens),
      },
      calls,
      seq,
    },
  };
}

/**
 * Collects a transcript's lines into messages counted once and the user prompts. A message that
 * streamed onto several lines keeps the line with the most tokens and the tool calls of all its lines.
 */
export class TranscriptCollector {
  private readonly messages = new Map<string, PlannerMessage>();
  private readonly prompts: { ts: string; seq: number }[] = [];
  private seq = 0;

  /** Feed one line; returns whether it counted for anything. */
  add(line: string): boolean {
    const parsed = parseTranscriptLine(line, this.seq++);
    if (!parsed) return false;
    if (parsed.kind === "prompt") {
      this.prompts.push({ ts: parsed.ts, seq: parsed.seq });
      return true;
    }
    const m = parsed.message;
    const key = `${m.id}|${m.requestId ?? ""}`;
    const seen = this.messages.get(key);
    if (!seen) {
      this.messages.set(key, { ...m, key });
      return true;
    }
    if (usageSize(m.usage) > usageSize(seen.usage)) seen.usage = m.usage;
    seen.calls.push(...m.calls);
    return true;
  }

  /** Messages in order of first appearance. */
  plannerMessages(): PlannerMessage[] {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }

  userPrompts(): readonly { ts: string; seq: number }[] {
    return this.prompts;
  }
}
