/**
 * A fake LLM server on 127.0.0.1 that speaks the real Anthropic Messages and OpenAI Chat
 * Completions wire formats (JSON and streaming), so tests, the demo and benchmarks exercise the
 * real SDK clients. Node built-ins only: no test-framework import, nothing from src/.
 *
 *   const llm = await startFakeLlm({ handler: scripted([toolUse("read_file", { path: "a.ts" }), say("done")]) });
 *   // Anthropic SDK: baseURL llm.anthropicBaseURL   OpenAI SDK: baseURL llm.openaiBaseURL
 *   llm.requests[0].toolNames; await llm.close();
 *
 * Usage when a reply gives none (deterministic, so tests can predict it):
 *   input_tokens  = ceil(bytes of the request body / 4)
 *   output_tokens = max(1, ceil((text length + each tool call's JSON arguments length) / 4))
 *   no cache tokens on OpenAI. On Anthropic, prompt caching as the real API does it (see
 *   promptCacheUsage below): cache_control breakpoints, the model's minimum cacheable length, a
 *   lookback of 20 blocks, reads of what an earlier request wrote; input_tokens is the rest.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** "responses": the OpenAI Responses API (what Codex speaks); its code is at the end of this file. */
export type Wire = "anthropic" | "openai" | "responses";

/** Usage in the normalized sense: input_tokens excludes cached tokens. Mapped onto each wire's fields. */
export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens?: number;
  /** Anthropic: cache_creation_input_tokens. OpenAI: prompt_tokens_details.cache_write_tokens (omitted when 0). */
  cache_write_tokens?: number;
}

export interface FakeToolCall {
  name: string;
  /** An object is sent as JSON; a string is sent verbatim (use it for invalid JSON). */
  arguments: Record<string, unknown> | string;
  id?: string;
}

/** A successful answer, described once and rendered in whichever wire the request used. */
export interface FakeAnswer {
  text?: string;
  toolCalls?: FakeToolCall[];
  usage?: FakeUsage;
  /** In Anthropic terms (mapped to OpenAI's finish_reason). Default: tool_use when there are tool calls, else end_turn. */
  stopReason?: "end_turn" | "tool_use" | "max_tokens" | "stop_sequence" | (string & {});
  /** The model id to report; default the request's. */
  model?: string;
  /**
   * Streaming requests only: break off after the first content delta, by dropping the connection
   * ("drop"), by sending nothing more while keeping it open ("stall"), or by sending the wire's
   * in-stream error (Anthropic `event: error` overloaded_error; OpenAI a `data: {"error": ...}`
   * chunk) and ending. Anthropic's message_start (with its usage) has gone out by then; OpenAI's
   * usage chunk has not.
   */
  cutStream?: "drop" | "stall" | "error";
}

/** An error status in the wire's error format. */
export interface FakeHttpError {
  status: number;
  /** Sent as `retry-after` (seconds). */
  retryAfterS?: number;
  /** Sent as `retry-after-ms` (both SDKs honour it; keeps 5xx retry tests fast). */
  retryAfterMs?: number;
  /** The error type in the body; default per status (e.g. 429 → rate_limit_error on Anthropic). */
  errorType?: string;
  message?: string;
}

export type FakeReply = FakeAnswer | FakeHttpError | { hang: true } | { malformed: true };

export interface FakeMessage {
  /** "tool" when a message carries only tool results (Anthropic user turn or OpenAI tool messages). */
  role: "user" | "assistant" | "tool";
  text: string;
  toolCalls: { id: string; name: string; arguments: unknown }[];
  toolResults: { toolCallId: string; content: string; isError: boolean }[];
}

export interface FakeRequest {
  /** Arrival order, from 0. */
  index: number;
  wire: Wire;
  path: string;
  headers: IncomingHttpHeaders;
  /** From x-api-key, else a bearer token, else null. */
  apiKey: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: the wire's JSON as sent, for tests to assert on freely
  body: any;
  rawBody: string;
  stream: boolean;
  model: string;
  /** max_tokens, or OpenAI's max_completion_tokens. */
  maxTokens: number | null;
  system: string;
  messages: FakeMessage[];
  toolNames: string[];
  /** Date.now() when the request arrived. */
  receivedAt: number;
}

export type FakeHandler = (req: FakeRequest) => FakeReply | Promise<FakeReply>;

export interface FakeLlmOptions {
  /** Default: every request answers `{ text: "ok" }`. */
  handler?: FakeHandler;
  /** Wait this long before answering each request. */
  latencyMs?: number;
  /** When set, a request with another key (or none) gets 401. */
  requireApiKey?: string;
  /** Simulate Anthropic prompt caching for replies without scripted usage (default true). */
  promptCache?: boolean;
}

export interface FakeLlm {
  /** http://127.0.0.1:PORT */
  url: string;
  /** For the Anthropic SDK's baseURL (it appends /v1/messages). */
  anthropicBaseURL: string;
  /** For the OpenAI SDK's baseURL (it appends /chat/completions). */
  openaiBaseURL: string;
  /** Every request, in arrival order, including faulted ones. */
  requests: FakeRequest[];
  /** Errors thrown by the handler (answered as a non-retryable 400). */
  handlerErrors: Error[];
  setHandler(handler: FakeHandler): void;
  /** Forget recorded requests and handler errors; back to the initial handler. */
  reset(): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Reply builders and scripts

export function say(text: string, usage?: FakeUsage): FakeAnswer {
  return { text, ...(usage ? { usage } : {}) };
}

export function toolUse(name: string, args: Record<string, unknown> | string, text?: string): FakeAnswer {
  return { ...(text ? { text } : {}), toolCalls: [{ name, arguments: args }] };
}

export type ScriptStep = FakeReply | FakeHandler;

export interface ScriptedHandler extends FakeHandler {
  /** Steps not yet used. */
  remaining(): number;
}

/**
 * Answers request n with steps[n] (a reply, or a function of the request for replies that
 * depend on it or assert on it). A fault step is consumed too, so an SDK retry gets the next step.
 * A request past the end is answered 400 (not retried) and recorded in handlerErrors.
 */
export function scripted(steps: ScriptStep[]): ScriptedHandler {
  let next = 0;
  const handler = async (req: FakeRequest): Promise<FakeReply> => {
    if (next >= steps.length) {
      throw new Error(
        `scripted: no reply left for request #${req.index} (the script has ${steps.length} steps)`,
      );
    }
    const step = steps[next++]!;
    return typeof step === "function" ? step(req) : step;
  };
  return Object.assign(handler, { remaining: () => steps.length - next });
}

// ---------------------------------------------------------------------------------------------
// Server

export async function startFakeLlm(opts: FakeLlmOptions = {}): Promise<FakeLlm> {
  const initial: FakeHandler = opts.handler ?? (() => ({ text: "ok" }));
  let handler = initial;
  const requests: FakeRequest[] = [];
  const handlerErrors: Error[] = [];
  const hung = new Set<ServerResponse>();
  const promptCache: PromptCache | null = opts.promptCache === false ? null : new Set();

  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(err) } });
      else res.destroy();
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    const path = (req.url ?? "/").split("?")[0]!;
    const wire: Wire | null =
      req.method === "POST" && path === "/v1/messages"
        ? "anthropic"
        : req.method === "POST" && (path === "/v1/chat/completions" || path === "/chat/completions")
          ? "openai"
          : req.method === "POST" && (path === "/v1/responses" || path === "/responses")
            ? "responses"
            : null;
    if (!wire) {
      sendJson(res, 404, { error: { message: `fake LLM: no route for ${req.method} ${path}` } });
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(rawBody) as Record<string, unknown>;
    } catch {
      sendError(res, wire, { status: 400, message: "fake LLM: the request body is not JSON" });
      return;
    }
    const request =
      wire === "responses"
        ? describeResponsesRequest(requests.length, path, req.headers, body, rawBody)
        : describeRequest(requests.length, wire, path, req.headers, body, rawBody);
    requests.push(request);
    // As the real API does; Claude Code records it as each transcript line's requestId.
    res.setHeader("request-id", `req_fake_${request.index}`);

    if (opts.latencyMs) await sleep(opts.latencyMs);
    if (opts.requireApiKey !== undefined && request.apiKey !== opts.requireApiKey) {
      sendError(res, wire, { status: 401, message: "invalid x-api-key" });
      return;
    }
    let reply: FakeReply;
    try {
      reply = await handler(request);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      handlerErrors.push(error);
      res.setHeader("x-should-retry", "false");
      sendError(res, wire, { status: 400, message: `fake LLM handler failed: ${error.message}` });
      return;
    }
    if (res.destroyed) return;
    if ("hang" in reply) {
      hung.add(res);
      res.on("close", () => hung.delete(res));
      return;
    }
    if ("malformed" in reply) {
      sendMalformed(res, wire, request.stream);
      return;
    }
    if ("status" in reply) {
      sendError(res, wire, reply);
      return;
    }
    const answer = completeAnswer(reply, request, promptCache);
    if (wire === "responses") {
      if (request.stream) sendSse(res, responsesEvents(answer));
      else sendJson(res, 200, responsesObject(answer));
      return;
    }
    if (!request.stream) {
      sendJson(res, 200, wire === "anthropic" ? anthropicMessage(answer) : openaiCompletion(answer));
      return;
    }
    const events =
      wire === "anthropic"
        ? anthropicEvents(answer)
        : openaiChunks(answer, request.body.stream_options?.include_usage === true);
    if (!reply.cutStream) {
      sendSse(res, events);
      return;
    }
    // Anthropic: through the first content_block_delta. OpenAI: the role chunk and one more.
    const firstDelta =
      wire === "anthropic" ? events.findIndex(([name]) => name === "content_block_delta") : 1;
    sendSse(res, events.slice(0, firstDelta + 1), { open: true });
    if (reply.cutStream === "drop") res.write("", () => res.destroy());
    else if (reply.cutStream === "error") {
      const error = { type: "overloaded_error", message: "Overloaded" };
      res.end(
        wire === "anthropic"
          ? `event: error\ndata: ${JSON.stringify({ type: "error", error })}\n\n`
          : `data: ${JSON.stringify({ error: { ...error, param: null, code: null } })}\n\n`,
      );
    } else {
      hung.add(res);
      res.on("close", () => hung.delete(res));
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    anthropicBaseURL: url,
    openaiBaseURL: `${url}/v1`,
    requests,
    handlerErrors,
    setHandler(next) {
      handler = next;
    },
    reset() {
      requests.length = 0;
      handlerErrors.length = 0;
      handler = initial;
      promptCache?.clear();
    },
    close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Reading requests

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter((b): b is { type: "text"; text: string } => b?.type === "text" && typeof b.text === "string")
    .map((b) => b.text)
    .join("");
}

function parseMaybe(text: unknown): unknown {
  if (typeof text !== "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describeRequest(
  index: number,
  wire: Wire,
  path: string,
  headers: IncomingHttpHeaders,
  // biome-ignore lint/suspicious/noExplicitAny: untrusted wire JSON, read defensively
  body: any,
  rawBody: string,
): FakeRequest {
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? "")?.[1] ?? null;
  const xApiKey = headers["x-api-key"];
  const apiKey = (typeof xApiKey === "string" ? xApiKey : null) ?? bearer;
  const messages: FakeMessage[] = [];
  let system = "";
  let toolNames: string[] = [];
  const rawMessages: unknown[] = Array.isArray(body.messages) ? body.messages : [];
  if (wire === "anthropic") {
    system = textOf(body.system);
    toolNames = (Array.isArray(body.tools) ? body.tools : []).map((t: { name?: unknown }) => String(t?.name));
    for (const m of rawMessages as { role: string; content: unknown }[]) {
      const blocks = Array.isArray(m.content) ? (m.content as Record<string, unknown>[]) : [];
      const toolResults = blocks
        .filter((b) => b.type === "tool_result")
        .map((b) => ({
          toolCallId: String(b.tool_use_id),
          content: textOf(b.content),
          isError: b.is_error === true,
        }));
      const toolCalls = blocks
        .filter((b) => b.type === "tool_use")
        .map((b) => ({ id: String(b.id), name: String(b.name), arguments: b.input }));
      const text = textOf(m.content);
      const role =
        m.role === "assistant" ? "assistant" : toolResults.length > 0 && text === "" ? "tool" : "user";
      messages.push({ role, text, toolCalls, toolResults });
    }
  } else {
    toolNames = (Array.isArray(body.tools) ? body.tools : []).map((t: { function?: { name?: unknown } }) =>
      String(t?.function?.name),
    );
    const systems: string[] = [];
    for (const m of rawMessages as Record<string, unknown>[]) {
      if (m.role === "system" || m.role === "developer") {
        systems.push(textOf(m.content));
      } else if (m.role === "tool") {
        const result = { toolCallId: String(m.tool_call_id), content: textOf(m.content), isError: false };
        const prev = messages[messages.length - 1];
        if (prev?.role === "tool") prev.toolResults.push(result);
        else messages.push({ role: "tool", text: "", toolCalls: [], toolResults: [result] });
      } else {
        const calls = Array.isArray(m.tool_calls) ? (m.tool_calls as Record<string, unknown>[]) : [];
        messages.push({
          role: m.role === "assistant" ? "assistant" : "user",
          text: textOf(m.content),
          toolCalls: calls.map((c) => {
            const fn = (c.function ?? {}) as { name?: unknown; arguments?: unknown };
            return { id: String(c.id), name: String(fn.name), arguments: parseMaybe(fn.arguments) };
          }),
          toolResults: [],
        });
      }
    }
    system = systems.join("\n");
  }
  const maxTokens = body.max_tokens ?? body.max_completion_tokens ?? null;
  return {
    index,
    wire,
    path,
    headers,
    apiKey,
    body,
    rawBody,
    stream: body.stream === true,
    model: String(body.model ?? ""),
    maxTokens: typeof maxTokens === "number" ? maxTokens : null,
    system,
    messages,
    toolNames,
    receivedAt: Date.now(),
  };
}

// ---------------------------------------------------------------------------------------------
// Writing replies

interface Answer {
  text: string;
  toolCalls: { id: string; name: string; json: string; input: unknown }[];
  usage: Required<FakeUsage>;
  stopReason: string;
  model: string;
  id: string;
}

function completeAnswer(reply: FakeAnswer, req: FakeRequest, cache: PromptCache | null): Answer {
  const text = reply.text ?? "";
  const toolCalls = (reply.toolCalls ?? []).map((call, i) => {
    const json = typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments);
    const id =
      call.id ?? (req.wire === "anthropic" ? `toolu_fake_${req.index}_${i}` : `call_fake_${req.index}_${i}`);
    return { id, name: call.name, json, input: parseMaybe(json) };
  });
  const outputChars = text.length + toolCalls.reduce((n, c) => n + c.json.length, 0);
  const inputTokens = Math.ceil(Buffer.byteLength(req.rawBody) / 4);
  const usage = reply.usage ?? {
    ...(req.wire === "anthropic" && cache
      ? promptCacheUsage(req, inputTokens, cache)
      : { input_tokens: inputTokens }),
    output_tokens: Math.max(1, Math.ceil(outputChars / 4)),
  };
  return {
    text,
    toolCalls,
    usage: { cache_read_tokens: 0, cache_write_tokens: 0, ...usage },
    stopReason: reply.stopReason ?? (toolCalls.length > 0 ? "tool_use" : "end_turn"),
    model: reply.model ?? (req.model || "fake-model"),
    id: `${req.wire === "anthropic" ? "msg" : req.wire === "responses" ? "resp" : "chatcmpl"}_fake_${req.index}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Anthropic prompt caching, simulated the way the API documents it

/** Hashes of cached prefixes (model + every block up to a breakpoint). */
type PromptCache = Set<string>;

/** How far back from a breakpoint the API looks for an earlier cache entry. */
const CACHE_LOOKBACK_BLOCKS = 20;

/** The minimum cacheable prompt length per model, as Anthropic's prompt-caching docs list it. */
export function fakeMinCacheableTokens(model: string): number {
  const id = model.toLowerCase();
  if (/haiku-4|opus-4-[56]/.test(id)) return 4096;
  if (/haiku|opus-4-7/.test(id)) return 2048;
  return 1024;
}

/**
 * Cache reads and writes for one Messages request. The prompt is the block sequence tools →
 * system → messages; a prefix's tokens are ceil(bytes of its blocks' JSON / 4) (cache_control
 * itself excluded). A breakpoint whose prefix reaches the model's minimum writes that prefix; a
 * request reads the longest earlier-written prefix found at a breakpoint or up to 20 blocks
 * before it. A top-level cache_control (automatic caching) is a breakpoint on the last block.
 */
function promptCacheUsage(
  req: FakeRequest,
  totalTokens: number,
  cache: PromptCache,
): { input_tokens: number; cache_read_tokens: number; cache_write_tokens: number } {
  // biome-ignore lint/suspicious/noExplicitAny: untrusted wire JSON, read defensively
  const blocks: any[] = [];
  const body = req.body;
  if (Array.isArray(body.tools)) blocks.push(...body.tools);
  if (typeof body.system === "string") blocks.push({ type: "text", text: body.system });
  else if (Array.isArray(body.system)) blocks.push(...body.system);
  for (const m of Array.isArray(body.messages) ? body.messages : []) {
    if (typeof m?.content === "string") blocks.push({ type: "text", text: m.content, role: m.role });
    else if (Array.isArray(m?.content)) for (const b of m.content) blocks.push({ ...b, role: m.role });
  }
  const hash = createHash("sha256").update(String(body.model));
  const keys: string[] = [];
  const tokens: number[] = [];
  let bytes = 0;
  for (const block of blocks) {
    const { cache_control: _marker, ...content } = block ?? {};
    const json = JSON.stringify(content);
    hash.update(json);
    bytes += Buffer.byteLength(json);
    keys.push(hash.copy().digest("hex"));
    tokens.push(Math.min(totalTokens, Math.ceil(bytes / 4)));
  }
  const breakpoints = blocks.flatMap((b, i) => (b?.cache_control ? [i] : []));
  if (body.cache_control && blocks.length > 0) breakpoints.push(blocks.length - 1);
  const min = fakeMinCacheableTokens(String(body.model));
  let read = 0;
  for (const bp of breakpoints) {
    for (let i = bp; i >= 0 && i > bp - CACHE_LOOKBACK_BLOCKS; i--) {
      if (cache.has(keys[i]!)) {
        read = Math.max(read, tokens[i]!);
        break;
      }
    }
  }
  let written = read;
  for (const bp of breakpoints) {
    if (tokens[bp]! < min) continue;
    cache.add(keys[bp]!);
    written = Math.max(written, tokens[bp]!);
  }
  return {
    input_tokens: totalTokens - written,
    cache_read_tokens: read,
    cache_write_tokens: written - read,
  };
}

/** Pieces of at most `size` characters, so streams carry several deltas. */
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** Each entry: [event name or null, data object or "[DONE]"]. `open` leaves the response unfinished. */
function sendSse(
  res: ServerResponse,
  events: [string | null, unknown][],
  opts: { open?: boolean } = {},
): void {
  if (res.destroyed) return;
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  for (const [event, data] of events) {
    const payload = typeof data === "string" ? data : JSON.stringify(data);
    res.write(`${event ? `event: ${event}\n` : ""}data: ${payload}\n\n`);
  }
  if (!opts.open) res.end();
}

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

const OPENAI_ERRORS: Record<number, { type: string; code: string | null }> = {
  400: { type: "invalid_request_error", code: null },
  401: { type: "invalid_request_error", code: "invalid_api_key" },
  403: { type: "invalid_request_error", code: "unsupported_country_region_territory" },
  404: { type: "invalid_request_error", code: "model_not_found" },
  429: { type: "requests", code: "rate_limit_exceeded" },
  500: { type: "server_error", code: null },
  503: { type: "server_error", code: null },
};

function sendError(res: ServerResponse, wire: Wire, fault: FakeHttpError): void {
  if (res.destroyed) return;
  const message = fault.message ?? `fake LLM: scripted ${fault.status}`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (fault.retryAfterS !== undefined) headers["retry-after"] = String(fault.retryAfterS);
  if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs);
  res.writeHead(fault.status, headers);
  if (wire === "anthropic") {
    const type = fault.errorType ?? ANTHROPIC_ERROR_TYPES[fault.status] ?? "api_error";
    res.end(JSON.stringify({ type: "error", error: { type, message } }));
  } else {
    const known = OPENAI_ERRORS[fault.status] ?? { type: "server_error", code: null };
    res.end(
      JSON.stringify({
        error: { message, type: fault.errorType ?? known.type, param: null, code: known.code },
      }),
    );
  }
}

function sendMalformed(res: ServerResponse, wire: Wire, stream: boolean): void {
  if (!stream) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      wire === "anthropic"
        ? '{"id":"msg_fake","type":"message","content":[{"type":"te'
        : '{"id":"chatcmpl_fake","choices":[{',
    );
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.write(wire === "anthropic" ? "event: message_start\ndata: {not json\n\n" : "data: {not json\n\n");
  res.end();
}

function anthropicUsage(u: Required<FakeUsage>) {
  return {
    input_tokens: u.input_tokens,
    output_tokens: u.output_tokens,
    cache_creation_input_tokens: u.cache_write_tokens,
    cache_read_input_tokens: u.cache_read_tokens,
  };
}

function anthropicMessage(a: Answer) {
  return {
    id: a.id,
    type: "message",
    role: "assistant",
    model: a.model,
    content: [
      ...(a.text ? [{ type: "text", text: a.text }] : []),
      ...a.toolCalls.map((c) => ({ type: "tool_use", id: c.id, name: c.name, input: c.input })),
    ],
    stop_reason: a.stopReason,
    stop_sequence: null,
    usage: anthropicUsage(a.usage),
  };
}

function anthropicEvents(a: Answer): [string, unknown][] {
  const events: [string, unknown][] = [];
  events.push([
    "message_start",
    {
      type: "message_start",
      message: {
        id: a.id,
        type: "message",
        role: "assistant",
        model: a.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...anthropicUsage(a.usage), output_tokens: 1 },
      },
    },
  ]);
  events.push(["ping", { type: "ping" }]);
  let index = 0;
  if (a.text) {
    events.push([
      "content_block_start",
      { type: "content_block_start", index, content_block: { type: "text", text: "" } },
    ]);
    for (const piece of pieces(a.text, 16)) {
      events.push([
        "content_block_delta",
        { type: "content_block_delta", index, delta: { type: "text_delta", text: piece } },
      ]);
    }
    events.push(["content_block_stop", { type: "content_block_stop", index }]);
    index++;
  }
  for (const call of a.toolCalls) {
    events.push([
      "content_block_start",
      {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: call.id, name: call.name, input: {} },
      },
    ]);
    for (const piece of pieces(call.json, 10)) {
      events.push([
        "content_block_delta",
        { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: piece } },
      ]);
    }
    events.push(["content_block_stop", { type: "content_block_stop", index }]);
    index++;
  }
  events.push([
    "message_delta",
    {
      type: "message_delta",
      delta: { stop_reason: a.stopReason, stop_sequence: null },
      usage: { output_tokens: a.usage.output_tokens },
    },
  ]);
  events.push(["message_stop", { type: "message_stop" }]);
  return events;
}

const FINISH_REASONS: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  tool_use: "tool_calls",
  max_tokens: "length",
};

/** prompt_tokens includes cached tokens on this wire. */
function openaiUsage(u: Required<FakeUsage>) {
  const prompt = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: u.output_tokens,
    total_tokens: prompt + u.output_tokens,
    prompt_tokens_details: {
      cached_tokens: u.cache_read_tokens,
      audio_tokens: 0,
      ...(u.cache_write_tokens > 0 ? { cache_write_tokens: u.cache_write_tokens } : {}),
    },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  };
}

function openaiCompletion(a: Answer) {
  return {
    id: a.id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: a.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: a.text || null,
          refusal: null,
          ...(a.toolCalls.length > 0
            ? {
                tool_calls: a.toolCalls.map((c) => ({
                  id: c.id,
                  type: "function",
                  function: { name: c.name, arguments: c.json },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: FINISH_REASONS[a.stopReason] ?? a.stopReason,
      },
    ],
    usage: openaiUsage(a.usage),
  };
}

function openaiChunks(a: Answer, includeUsage: boolean): [null, unknown][] {
  const base = {
    id: a.id,
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model: a.model,
  };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): [null, unknown] => [
    null,
    { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] },
  ];
  const out: [null, unknown][] = [chunk({ role: "assistant", content: "", refusal: null })];
  for (const piece of pieces(a.text, 16)) out.push(chunk({ content: piece }));
  a.toolCalls.forEach((c, i) => {
    out.push(
      chunk({
        tool_calls: [{ index: i, id: c.id, type: "function", function: { name: c.name, arguments: "" } }],
      }),
    );
    for (const piece of pieces(c.json, 10))
      out.push(chunk({ tool_calls: [{ index: i, function: { arguments: piece } }] }));
  });
  out.push(chunk({}, FINISH_REASONS[a.stopReason] ?? a.stopReason));
  if (includeUsage) out.push([null, { ...base, choices: [], usage: openaiUsage(a.usage) }]);
  out.push([null, "[DONE]"]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// OpenAI Responses API (POST /v1/responses), as Codex uses it: `instructions` plus `input` items
// (messages, function_call, function_call_output), streamed as typed events ending in
// response.completed, whose usage counts cached tokens inside input_tokens.

function describeResponsesRequest(
  index: number,
  path: string,
  headers: IncomingHttpHeaders,
  // biome-ignore lint/suspicious/noExplicitAny: untrusted wire JSON, read defensively
  body: any,
  rawBody: string,
): FakeRequest {
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? "")?.[1] ?? null;
  const systems: string[] =
    typeof body.instructions === "string" && body.instructions ? [body.instructions] : [];
  const messages: FakeMessage[] = [];
  const items: Record<string, unknown>[] = Array.isArray(body.input)
    ? body.input
    : typeof body.input === "string"
      ? [{ type: "message", role: "user", content: body.input }]
      : [];
  const partText = (content: unknown) =>
    typeof content === "string"
      ? content
      : Array.isArray(content)
        ? content
            .filter((c: { text?: unknown }) => typeof c?.text === "string")
            .map((c: { text: string }) => c.text)
            .join("")
        : "";
  for (const item of items) {
    const type = item.type ?? (item.role ? "message" : undefined);
    if (type === "message") {
      if (item.role === "system" || item.role === "developer") {
        systems.push(partText(item.content));
        continue;
      }
      messages.push({
        role: item.role === "assistant" ? "assistant" : "user",
        text: partText(item.content),
        toolCalls: [],
        toolResults: [],
      });
    } else if (type === "function_call") {
      const call = {
        id: String(item.call_id),
        name: String(item.name),
        arguments: parseMaybe(item.arguments),
      };
      const prev = messages[messages.length - 1];
      if (prev?.role === "assistant") prev.toolCalls.push(call);
      else messages.push({ role: "assistant", text: "", toolCalls: [call], toolResults: [] });
    } else if (type === "function_call_output") {
      const output = typeof item.output === "string" ? item.output : JSON.stringify(item.output);
      const result = { toolCallId: String(item.call_id), content: output, isError: false };
      const prev = messages[messages.length - 1];
      if (prev?.role === "tool") prev.toolResults.push(result);
      else messages.push({ role: "tool", text: "", toolCalls: [], toolResults: [result] });
    }
  }
  const toolNames = (Array.isArray(body.tools) ? body.tools : [])
    .filter((t: { type?: unknown; name?: unknown }) => t?.type === "function" && typeof t.name === "string")
    .map((t: { name: string }) => t.name);
  const maxTokens = body.max_output_tokens;
  return {
    index,
    wire: "responses",
    path,
    headers,
    apiKey: bearer,
    body,
    rawBody,
    stream: body.stream === true,
    model: String(body.model ?? ""),
    maxTokens: typeof maxTokens === "number" ? maxTokens : null,
    system: systems.join("\n"),
    messages,
    toolNames,
    receivedAt: Date.now(),
  };
}

function responsesUsage(u: Required<FakeUsage>) {
  const input = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u.cache_read_tokens },
    output_tokens: u.output_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + u.output_tokens,
  };
}

function responsesOutput(a: Answer) {
  return [
    ...(a.text
      ? [
          {
            type: "message",
            id: `msg_${a.id}`,
            status: "completed",
            role: "assistant",
            content: [{ type: "output_text", text: a.text, annotations: [] }],
          },
        ]
      : []),
    ...a.toolCalls.map((c, i) => ({
      type: "function_call",
      id: `fc_${a.id}_${i}`,
      call_id: c.id,
      name: c.name,
      arguments: c.json,
      status: "completed",
    })),
  ];
}

function responsesObject(a: Answer, status = "completed") {
  return {
    id: a.id,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status,
    model: a.model,
    output: status === "completed" ? responsesOutput(a) : [],
    ...(a.stopReason === "max_tokens" ? { incomplete_details: { reason: "max_output_tokens" } } : {}),
    usage: status === "completed" ? responsesUsage(a.usage) : null,
  };
}

function responsesEvents(a: Answer): [string, unknown][] {
  const events: [string, unknown][] = [];
  let seq = 0;
  const push = (type: string, data: Record<string, unknown>) =>
    events.push([type, { type, sequence_number: seq++, ...data }]);
  push("response.created", { response: responsesObject(a, "in_progress") });
  push("response.in_progress", { response: responsesObject(a, "in_progress") });
  responsesOutput(a).forEach((item, output_index) => {
    if (item.type === "message") {
      const text = a.text;
      push("response.output_item.added", {
        output_index,
        item: { ...item, status: "in_progress", content: [] },
      });
      const part = { type: "output_text", text: "", annotations: [] };
      push("response.content_part.added", { item_id: item.id, output_index, content_index: 0, part });
      for (const delta of pieces(text, 16))
        push("response.output_text.delta", { item_id: item.id, output_index, content_index: 0, delta });
      push("response.output_text.done", { item_id: item.id, output_index, content_index: 0, text });
      push("response.content_part.done", {
        item_id: item.id,
        output_index,
        content_index: 0,
        part: { ...part, text },
      });
    } else {
      const args = String((item as { arguments: string }).arguments);
      push("response.output_item.added", {
        output_index,
        item: { ...item, arguments: "", status: "in_progress" },
      });
      for (const delta of pieces(args, 10))
        push("response.function_call_arguments.delta", { item_id: item.id, output_index, delta });
      push("response.function_call_arguments.done", { item_id: item.id, output_index, arguments: args });
    }
    push("response.output_item.done", { output_index, item });
  });
  push("response.completed", { response: responsesObject(a) });
  return events;
}
