/**
 * Turns what went wrong in a model call into a ProviderError with one sentence that says what to
 * do. The provider files classify their SDK's errors; the wording lives here, once.
 */

import type { ProviderName } from "../core/provider.js";
import { log } from "../log.js";
import { ProviderError } from "./types.js";

/** What a message needs to name the model, the key and the fix. */
export interface CallContext {
  provider: ProviderName;
  /** The alias from the config, e.g. "haiku". */
  alias: string;
  model: string;
  apiKeyEnv: string;
  baseURL: string;
  timeoutMs: number;
  maxRetries: number;
}

function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function adviceFor(ctx: CallContext, status: number | undefined, type: string | null): string {
  // An error event inside a stream arrives after the SDK's retries no longer apply.
  const retried =
    status === undefined
      ? "mid-stream"
      : `after ${ctx.maxRetries} ${ctx.maxRetries === 1 ? "retry" : "retries"}`;
  if (status === 401 || type === "authentication_error") return `check ${ctx.apiKeyEnv}.`;
  if (status === 402 || type === "billing_error")
    return `check the billing of the account behind ${ctx.apiKeyEnv}.`;
  if (status === 403 || type === "permission_error")
    return `the key in ${ctx.apiKeyEnv} may not use model ${ctx.model}; check its permissions.`;
  if (status === 404 || type === "not_found_error")
    return `check the model id "${ctx.model}" and the base_url of model ${ctx.alias} in delegate.config.json.`;
  if (status === 413 || type === "request_too_large")
    return "the prompt is too large; send fewer or shorter files_to_read.";
  if (status === 429 || type === "rate_limit_error")
    return `rate limited ${retried}; wait and dispatch again, or lower limits.concurrency.`;
  if (status === 529 || status === 503 || type === "overloaded_error")
    return `overloaded ${retried}; try again later or use another model.`;
  if (status !== undefined && status >= 500) return `server error ${retried}; try again later.`;
  if (status === 400 || status === 422 || type === "invalid_request_error")
    return `the request was rejected; check that model ${ctx.model} supports tool use and the max_tokens asked for.`;
  return "check the provider's status and the model's configuration in delegate.config.json.";
}

/** The provider answered with an error status, or sent an error event mid-stream (no status). */
export function httpFailure(
  ctx: CallContext,
  status: number | undefined,
  type: string | null | undefined,
  apiMessage: string | null | undefined,
  cause: unknown,
): ProviderError {
  const what = [type, apiMessage ? clip(apiMessage, 160).replace(/\.$/, "") : null]
    .filter(Boolean)
    .join(": ");
  const head = status === undefined ? `${ctx.provider} sent an error` : `${ctx.provider} returned ${status}`;
  const retryable =
    status === undefined
      ? type === "overloaded_error" || type === "api_error" || type === "rate_limit_error"
      : status === 408 || status === 409 || status === 429 || status >= 500;
  return new ProviderError(`${head}${what ? ` (${what})` : ""}: ${adviceFor(ctx, status, type ?? null)}`, {
    provider: ctx.provider,
    kind: "http",
    ...(status !== undefined ? { status } : {}),
    retryable,
    cause,
  });
}

export function connectionFailure(ctx: CallContext, cause: unknown): ProviderError {
  const reason = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : "";
  return new ProviderError(
    `${ctx.provider} could not be reached at ${ctx.baseURL}${reason ? ` (${clip(reason, 120)})` : ""}` +
      `: check the base_url of model ${ctx.alias} and the network.`,
    { provider: ctx.provider, kind: "connection", retryable: true, cause },
  );
}

/** The response stream broke off after it began (connection dropped, proxy cut it). */
export function streamCutFailure(ctx: CallContext, cause: unknown): ProviderError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ProviderError(
    `${ctx.provider} stream from ${ctx.baseURL} broke off (${clip(reason, 120)}): try again; if it keeps happening, turn streaming off.`,
    { provider: ctx.provider, kind: "connection", retryable: true, cause },
  );
}

/**
 * The events of an SDK stream. A failure to read the next one that the SDK did not classify
 * (undici's "terminated" when the connection drops) becomes a ProviderError; errors thrown by
 * the consumer's own loop body are not touched.
 */
export async function* readStream<T>(
  stream: AsyncIterable<T>,
  ctx: CallContext,
  isSdkError: (err: unknown) => boolean,
): AsyncGenerator<T> {
  const it = stream[Symbol.asyncIterator]();
  while (true) {
    let next: IteratorResult<T>;
    try {
      next = await it.next();
    } catch (err) {
      if (isSdkError(err) || err instanceof ProviderError || err instanceof SyntaxError) throw err;
      throw streamCutFailure(ctx, err);
    }
    if (next.done) return;
    yield next.value;
  }
}

export function timeoutFailure(ctx: CallContext, cause: unknown): ProviderError {
  const tries = ctx.maxRetries > 0 ? ` (${ctx.maxRetries + 1} tries)` : "";
  return new ProviderError(
    `${ctx.provider} did not answer within ${ctx.timeoutMs} ms${tries}: raise limits.request_timeout_s or try again later.`,
    { provider: ctx.provider, kind: "timeout", retryable: true, cause },
  );
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error && reason.name === "TimeoutError") return "deadline reached";
  if (reason instanceof Error && reason.name !== "AbortError") return clip(reason.message, 120);
  if (typeof reason === "string") return clip(reason, 120);
  return "cancelled";
}

/** The caller's signal fired. `cause` is the signal's reason, so callers can tell deadline from cancel. */
export function abortFailure(ctx: CallContext, signal: AbortSignal): ProviderError {
  return new ProviderError(
    `${ctx.provider} call to ${ctx.model} was aborted before it finished (${reasonText(signal.reason)}).`,
    { provider: ctx.provider, kind: "aborted", retryable: false, cause: signal.reason },
  );
}

export function malformedFailure(ctx: CallContext, detail: string, cause?: unknown): ProviderError {
  const wire = ctx.provider === "anthropic" ? "Anthropic Messages" : "OpenAI Chat Completions";
  return new ProviderError(
    `${ctx.provider} sent a response that is not valid ${wire} (${clip(detail, 120)}): check that the base_url of model ${ctx.alias} points at a ${wire} API.`,
    { provider: ctx.provider, kind: "malformed", retryable: false, cause },
  );
}

/**
 * Settles as soon as `signal` aborts, even while the SDK sleeps between retries (the openai SDK's
 * retry sleep does not watch the signal). The abandoned call's rejection is swallowed.
 */
export function untilAborted<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  ctx: CallContext,
): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(abortFailure(ctx, signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => {});
      reject(abortFailure(ctx, signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** The SDKs log through this, so nothing they say reaches stdout (the MCP channel). */
export function sdkLogger(provider: ProviderName) {
  const prefix = `${provider} sdk:`;
  return {
    error: (message: string) => log.error(`${prefix} ${message}`),
    warn: (message: string) => log.warn(`${prefix} ${message}`),
    info: (message: string) => log.info(`${prefix} ${message}`),
    debug: (message: string) => log.debug(`${prefix} ${message}`),
  };
}
