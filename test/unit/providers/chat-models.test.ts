/**
 * Both providers through the real SDK clients against the fake LLM server, streaming and not.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ProviderError } from "../../../src/providers/types.js";
import { type FakeLlm, say, scripted, startFakeLlm } from "../../fakes/llm-server.js";
import { KEY, modelFor, rejectionOf, request } from "./helpers.js";

let llm: FakeLlm;
beforeAll(async () => {
  llm = await startFakeLlm();
});
afterAll(() => llm.close());
beforeEach(() => llm.reset());

const cases = [
  { provider: "anthropic", stream: false },
  { provider: "anthropic", stream: true },
  { provider: "openai", stream: false },
  { provider: "openai", stream: true },
] as const;

describe.each(cases)("$provider (stream: $stream)", ({ provider, stream }) => {
  const wire = provider;
  const modelId = provider === "anthropic" ? "claude-haiku-4-5" : "gpt-4o-mini";
  const keyEnv = provider === "anthropic" ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY";
  const chat = (opts: { maxRetries?: number; timeoutMs?: number } = {}) =>
    modelFor(llm, provider, { stream, ...opts });

  it("returns text, the stop reason, the model and the usage", async () => {
    const text = "Hello from the fake model; long enough to arrive in several deltas.";
    llm.setHandler(() => say(text, { input_tokens: 120, output_tokens: 15 }));
    const out = await (await chat()).complete(request());
    expect(out).toEqual({
      content: text,
      toolCalls: [],
      stopReason: "end_turn",
      model: modelId,
      usage: { input_tokens: 120, output_tokens: 15, cache_read_tokens: 0, cache_write_tokens: 0 },
    });
    expect(llm.requests).toHaveLength(1);
    const [req] = llm.requests;
    expect(req).toMatchObject({
      wire,
      stream,
      model: modelId,
      apiKey: KEY,
      maxTokens: 512,
      system: "You are the executor.",
      toolNames: ["read_file", "finish"],
      messages: [{ role: "user", text: "Do the task.", toolCalls: [], toolResults: [] }],
    });
  });

  it("returns tool calls with their ids and parsed arguments", async () => {
    llm.setHandler(() => ({
      text: "Reading first.",
      toolCalls: [
        { name: "read_file", arguments: { path: "src/a.ts" } },
        { name: "finish", arguments: { status: "complete", summary: 'done — with ünïcode and "quotes"' } },
      ],
    }));
    const out = await (await chat()).complete(request());
    const prefix = provider === "anthropic" ? "toolu_fake_0_" : "call_fake_0_";
    expect(out.content).toBe("Reading first.");
    expect(out.stopReason).toBe("tool_use");
    expect(out.toolCalls).toEqual([
      { id: `${prefix}0`, name: "read_file", arguments: { path: "src/a.ts" } },
      {
        id: `${prefix}1`,
        name: "finish",
        arguments: { status: "complete", summary: 'done — with ünïcode and "quotes"' },
      },
    ]);
    expect(out.toolCalls[0]).not.toHaveProperty("argumentsError");
  });

  it("carries a multi-turn conversation with tool results back to the model", async () => {
    llm.setHandler(
      scripted([
        {
          toolCalls: [
            { name: "read_file", arguments: { path: "a.ts" } },
            { name: "read_file", arguments: { path: "gone.ts" } },
          ],
        },
        say("Both read."),
        say("Finished."),
      ]),
    );
    const model = await chat();
    const first = await model.complete(request());
    const [ok, missing] = first.toolCalls;
    const history = [
      { role: "user" as const, content: "Do the task." },
      { role: "assistant" as const, content: first.content, toolCalls: first.toolCalls },
      {
        role: "tool" as const,
        results: [
          { toolCallId: ok!.id, content: "1: export const a = 1;" },
          { toolCallId: missing!.id, content: "gone.ts does not exist", isError: true },
        ],
      },
    ];
    const second = await model.complete(request({ messages: history }));
    expect(second.content).toBe("Both read.");
    const third = await model.complete(
      request({
        messages: [
          ...history,
          { role: "assistant", content: second.content },
          { role: "user", content: "Call finish now." },
        ],
      }),
    );
    expect(third.content).toBe("Finished.");

    const sent = llm.requests[1]!.messages;
    expect(sent).toHaveLength(3);
    expect(sent[1]).toMatchObject({
      role: "assistant",
      toolCalls: [
        { id: ok!.id, name: "read_file", arguments: { path: "a.ts" } },
        { id: missing!.id, name: "read_file", arguments: { path: "gone.ts" } },
      ],
    });
    // Anthropic has an is_error flag; OpenAI's tool message has none, so the text says it.
    expect(sent[2]).toEqual({
      role: "tool",
      text: "",
      toolCalls: [],
      toolResults: [
        { toolCallId: ok!.id, content: "1: export const a = 1;", isError: false },
        provider === "anthropic"
          ? { toolCallId: missing!.id, content: "gone.ts does not exist", isError: true }
          : { toolCallId: missing!.id, content: "Error: gone.ts does not exist", isError: false },
      ],
    });
    expect(llm.requests[2]!.messages.map((m) => m.role)).toEqual([
      "user",
      "assistant",
      "tool",
      "assistant",
      "user",
    ]);
  });

  it.each([
    { name: "cache reads", usage: { input_tokens: 100, output_tokens: 20, cache_read_tokens: 300 } },
    {
      name: "cache reads and writes",
      usage: { input_tokens: 100, output_tokens: 20, cache_read_tokens: 300, cache_write_tokens: 50 },
    },
  ])("normalizes usage with $name: input_tokens excludes cached tokens", async ({ usage }) => {
    llm.setHandler(() => say("ok", usage));
    const out = await (await chat()).complete(request());
    expect(out.usage).toEqual({ cache_write_tokens: 0, ...usage });
  });

  it("reports the fake's documented default usage when the reply gives none", async () => {
    llm.setHandler(() => say("abcdefgh"));
    const out = await (await chat()).complete(request());
    const bytes = Buffer.byteLength(llm.requests[0]!.rawBody);
    expect(out.usage).toEqual({
      input_tokens: Math.ceil(bytes / 4),
      output_tokens: 2,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
    });
  });

  it("sets argumentsError, never throws, when tool-call arguments are not a JSON object", async () => {
    llm.setHandler(() => ({
      toolCalls: [
        { name: "read_file", arguments: '{"path": "a.ts"' },
        { name: "read_file", arguments: "[1, 2]" },
        { name: "finish", arguments: { status: "complete" } },
      ],
    }));
    const out = await (await chat()).complete(request());
    const [broken, array, fine] = out.toolCalls;
    expect(broken).toMatchObject({ name: "read_file", arguments: {} });
    expect(broken!.argumentsError).toMatch(/not valid JSON|must be a JSON object, got a string/);
    expect(array).toMatchObject({ name: "read_file", arguments: {} });
    expect(array!.argumentsError).toMatch(/must be a JSON object, got an array/);
    expect(fine).toEqual({ id: expect.any(String), name: "finish", arguments: { status: "complete" } });
  });

  it("retries a 429 after the server's retry-after", async () => {
    const fault = stream ? { status: 429, retryAfterMs: 300 } : { status: 429, retryAfterS: 1 };
    const waitMs = stream ? 300 : 1000;
    llm.setHandler(scripted([fault, say("after the wait")]));
    const out = await (await chat()).complete(request());
    expect(out.content).toBe("after the wait");
    expect(llm.requests).toHaveLength(2);
    const gap = llm.requests[1]!.receivedAt - llm.requests[0]!.receivedAt;
    expect(gap).toBeGreaterThanOrEqual(waitMs - 50);
  });

  it("retries 529 and 500", async () => {
    llm.setHandler(
      scripted([{ status: 529, retryAfterMs: 10 }, { status: 500, retryAfterMs: 10 }, say("third time")]),
    );
    const out = await (await chat()).complete(request());
    expect(out.content).toBe("third time");
    expect(llm.requests).toHaveLength(3);
  });

  it("gives up after maxRetries with one sentence naming the status", async () => {
    llm.setHandler(() => ({ status: 529, retryAfterMs: 5 }));
    const err = await rejectionOf((await chat({ maxRetries: 1 })).complete(request()));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider, status: 529, retryable: true, kind: "http" });
    expect((err as Error).message).toMatch(
      new RegExp(`^${provider} returned 529 .*overloaded after 1 retry; `),
    );
    expect(llm.requests).toHaveLength(2);
  });

  it.each([400, 401])("does not retry a %i", async (status) => {
    llm.setHandler(() => ({ status, retryAfterMs: 5 }));
    const err = await rejectionOf((await chat()).complete(request()));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider, status, retryable: false, kind: "http" });
    expect(llm.requests).toHaveLength(1);
    const message = (err as Error).message;
    expect(message).not.toMatch(/\n|\bat .*\(/);
    if (status === 401)
      expect(message).toMatch(new RegExp(`^${provider} returned 401 \\(.*\\): check ${keyEnv}\\.$`));
    else expect(message).toMatch(new RegExp(`^${provider} returned 400 .*supports tool use`));
  });

  it("aborts at the deadline when the server hangs", async () => {
    llm.setHandler(() => ({ hang: true }));
    const err = await rejectionOf((await chat()).complete(request({ signal: AbortSignal.timeout(200) })));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider, kind: "aborted", retryable: false });
    expect((err as Error).message).toMatch(/aborted before it finished \(deadline reached\)/);
    expect(((err as Error).cause as Error).name).toBe("TimeoutError");
    expect(llm.requests).toHaveLength(1);
  });

  it("aborts while the SDK waits to retry, without waiting for retry-after", async () => {
    llm.setHandler(scripted([{ status: 429, retryAfterS: 5 }, say("too late")]));
    const started = Date.now();
    const err = await rejectionOf((await chat()).complete(request({ signal: AbortSignal.timeout(150) })));
    expect(err).toMatchObject({ kind: "aborted" });
    // Well before the 5 s retry-after: the abort did not wait for it (wide margin for a loaded CI).
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("times out a hung request after the SDK timeout", async () => {
    llm.setHandler(() => ({ hang: true }));
    const err = await rejectionOf((await chat({ timeoutMs: 200, maxRetries: 0 })).complete(request()));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider, kind: "timeout", retryable: true });
    expect((err as Error).message).toBe(
      `${provider} did not answer within 200 ms: raise limits.request_timeout_s or try again later.`,
    );
  });

  it("turns a malformed body into a ProviderError", async () => {
    llm.setHandler(() => ({ malformed: true }));
    const err = await rejectionOf((await chat()).complete(request()));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider, kind: "malformed", retryable: false });
    expect((err as Error).message).toMatch(new RegExp(`^${provider} sent a response that is not valid `));
    expect(llm.requests).toHaveLength(1);
  });

  it("reports a max_tokens stop", async () => {
    llm.setHandler(() => ({ text: "cut", stopReason: "max_tokens" }));
    const out = await (await chat()).complete(request());
    expect(out.stopReason).toBe("max_tokens");
  });
});

describe.each(["anthropic", "openai"] as const)("%s stream that breaks off", (provider) => {
  const chat = () => modelFor(llm, provider, { stream: true });
  const reply = {
    text: "a reply long enough to span several deltas",
    usage: { input_tokens: 100, output_tokens: 20 },
  };
  // Anthropic reports input usage in message_start, before any content; OpenAI only at the end.
  const usageSoFar =
    provider === "anthropic"
      ? { input_tokens: 100, output_tokens: 1, cache_read_tokens: 0, cache_write_tokens: 0 }
      : undefined;

  it("reports a dropped connection as a retryable ProviderError carrying the usage seen", async () => {
    llm.setHandler(() => ({ ...reply, cutStream: "drop" }));
    const err = await rejectionOf((await chat()).complete(request()));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider, kind: "connection", retryable: true });
    expect((err as Error).message).toMatch(
      new RegExp(`^${provider} stream from .* broke off \\(.*\\): try again`),
    );
    expect((err as ProviderError).usage).toEqual(usageSoFar);
    expect(llm.requests).toHaveLength(1);
  });

  it("aborts a stalled stream at the deadline, carrying the usage seen", async () => {
    llm.setHandler(() => ({ ...reply, cutStream: "stall" }));
    const err = await rejectionOf((await chat()).complete(request({ signal: AbortSignal.timeout(300) })));
    expect(err).toMatchObject({ provider, kind: "aborted" });
    expect((err as ProviderError).usage).toEqual(usageSoFar);
  });

  it("reports the wire's in-stream error event as an http ProviderError without a status", async () => {
    llm.setHandler(() => ({ ...reply, cutStream: "error" }));
    const err = await rejectionOf((await chat()).complete(request()));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider, kind: "http", retryable: true, status: undefined });
    expect((err as Error).message).toBe(
      `${provider} sent an error (overloaded_error: Overloaded): overloaded mid-stream; try again later or use another model.`,
    );
    expect((err as ProviderError).usage).toEqual(usageSoFar);
  });
});
