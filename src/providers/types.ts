import type { ProviderName } from "../core/provider.js";
import type { Usage } from "../core/usage.js";

/** A tool the model may call. */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of an object. */
  inputSchema: Record<string, unknown>;
}

export interface ToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  /** Set when the model's arguments were not a JSON object; `arguments` is then `{}`. */
  argumentsError?: string;
}

export type Message =
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: ToolCall[] }
  | { role: "tool"; results: { toolCallId: string; content: string; isError?: boolean }[] };

export interface CompletionRequest {
  system: string;
  messages: Message[];
  tools: ToolSpec[];
  maxTokens: number;
  /** The caller's deadline or cancel. An abort rejects with a ProviderError of kind "aborted". */
  signal?: AbortSignal;
}

export interface Completion {
  content: string;
  toolCalls: ToolCall[];
  usage: Usage;
  stopReason: "end_turn" | "tool_use" | "max_tokens" | "other";
  /** The model id the provider says answered. */
  model: string;
}

export interface ChatModel {
  readonly provider: ProviderName;
  readonly model: string;
  complete(req: CompletionRequest): Promise<Completion>;
}

/**
 * - `http`: the provider answered with an error status (after the SDK's own retries).
 * - `connection`: it could not be reached. `timeout`: no answer within the request timeout.
 * - `aborted`: the caller's signal fired (deadline or cancel); `cause` is the signal's reason.
 * - `malformed`: the answer was not the wire format it should be.
 */
export type ProviderErrorKind = "http" | "connection" | "timeout" | "aborted" | "malformed";

/** A failed model call. `message` is one sentence: provider, status, what to do. */
export class ProviderError extends Error {
  readonly provider: ProviderName;
  readonly status?: number;
  /** True when the same call may succeed later (rate limit, overload, 5xx, timeout, network). */
  readonly retryable: boolean;
  readonly kind: ProviderErrorKind;
  /**
   * Tokens the provider reported before the call failed (a stream that broke after message_start
   * already billed its input). Absent when nothing was reported; the ledger then records zero.
   */
  usage?: Usage;

  constructor(
    message: string,
    opts: {
      provider: ProviderName;
      kind: ProviderErrorKind;
      status?: number;
      retryable: boolean;
      cause?: unknown;
    },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "ProviderError";
    this.provider = opts.provider;
    this.kind = opts.kind;
    if (opts.status !== undefined) this.status = opts.status;
    this.retryable = opts.retryable;
  }
}

export function isProviderError(err: unknown): err is ProviderError {
  return err instanceof ProviderError;
}
