/**
 * The fake LLM server's own wire, read with plain fetch: what the SDK tests rely on it to send.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeLlm, say, scripted, startFakeLlm, toolUse } from "../../fakes/llm-server.js";

let llm: FakeLlm;
beforeAll(async () => {
  llm = await startFakeLlm();
});
afterAll(() => llm.close());
beforeEach(() => llm.reset());

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${llm.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** [event name or null, parsed data or the raw string] per SSE message. */
async function sse(res: Response): Promise<[string | null, unknown][]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? null;
      const data = /^data: (.*)$/m.exec(block)![1]!;
      return [event, data === "[DONE]" ? data : JSON.parse(data)];
    });
}

const anthropicBody = {
  model: "claude-haiku-4-5",
  max_tokens: 100,
  messages: [{ role: "user", content: "hi" }],
};
const openaiBody = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] };
const usage = { input_tokens: 10, output_tokens: 5, cache_read_tokens: 7, cache_write_tokens: 3 };

describe("Anthropic wire", () => {
  it("streams the event sequence of the Messages API, each data typed as its event", async () => {
    llm.setHandler(() => ({
      text: "some text",
      toolCalls: [{ name: "finish", arguments: { status: "ok" } }],
      usage,
    }));
    const events = await sse(await post("/v1/messages", { ...anthropicBody, stream: true }));
    expect(events.map(([name]) => name)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    for (const [name, data] of events) expect((data as { type: string }).type).toBe(name);
    const start = events[0]![1] as { message: { usage: Record<string, number> } };
    expect(start.message.usage).toMatchObject({
      input_tokens: 10,
      cache_read_input_tokens: 7,
      cache_creation_input_tokens: 3,
    });
    const json = events
      .filter(([name, d]) => name === "content_block_delta" && (d as { index: number }).index === 1)
      .map(([, d]) => (d as { delta: { partial_json: string } }).delta.partial_json)
      .join("");
    expect(JSON.parse(json)).toEqual({ status: "ok" });
    expect(events[9]![1]).toMatchObject({ delta: { stop_reason: "tool_use" }, usage: { output_tokens: 5 } });
  });

  it("answers errors in the API's error shape with retry-after", async () => {
    llm.setHandler(() => ({ status: 429, retryAfterS: 1 }));
    const res = await post("/v1/messages", anthropicBody);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.json()).toEqual({
      type: "error",
      error: { type: "rate_limit_error", message: "fake LLM: scripted 429" },
    });
  });
});

describe("OpenAI wire", () => {
  it("reports prompt_tokens including cached tokens, as OpenAI does", async () => {
    llm.setHandler(() => say("hi", usage));
    const body = (await (await post("/v1/chat/completions", openaiBody)).json()) as { usage: unknown };
    expect(body.usage).toMatchObject({
      prompt_tokens: 20,
      completion_tokens: 5,
      total_tokens: 25,
      prompt_tokens_details: { cached_tokens: 7, cache_write_tokens: 3 },
    });
  });

  it("streams chunks ending in [DONE], with a usage chunk only when include_usage asks", async () => {
    llm.setHandler(() => toolUse("read_file", { path: "a.ts" }, "reading"));
    const plain = await sse(await post("/v1/chat/completions", { ...openaiBody, stream: true }));
    expect(plain.at(-1)![1]).toBe("[DONE]");
    expect(plain.some(([, d]) => typeof d === "object" && (d as { usage?: unknown }).usage)).toBe(false);
    const finish = plain.at(-2)![1] as { choices: { finish_reason: string }[] };
    expect(finish.choices[0]!.finish_reason).toBe("tool_calls");

    const withUsage = await sse(
      await post("/v1/chat/completions", {
        ...openaiBody,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const last = withUsage.at(-2)![1] as { choices: unknown[]; usage: { prompt_tokens: number } };
    expect(last.choices).toEqual([]);
    expect(last.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it("answers errors in the API's error shape", async () => {
    llm.setHandler(() => ({ status: 401 }));
    const res = await post("/v1/chat/completions", openaiBody);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: {
        message: "fake LLM: scripted 401",
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      },
    });
  });
});

describe("server", () => {
  it("records a normalized view of every request", async () => {
    await post(
      "/v1/chat/completions",
      {
        ...openaiBody,
        messages: [
          { role: "system", content: "sys" },
          { role: "user", content: "hi" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{bad" } }],
          },
          { role: "tool", tool_call_id: "c1", content: "r1" },
        ],
        tools: [{ type: "function", function: { name: "f", parameters: {} } }],
      },
      { authorization: "Bearer k1" },
    );
    expect(llm.requests[0]).toMatchObject({
      index: 0,
      wire: "openai",
      apiKey: "k1",
      system: "sys",
      toolNames: ["f"],
      messages: [
        { role: "user", text: "hi" },
        { role: "assistant", toolCalls: [{ id: "c1", name: "f", arguments: "{bad" }] },
        { role: "tool", toolResults: [{ toolCallId: "c1", content: "r1", isError: false }] },
      ],
    });
  });

  it("answers a request past the end of a script with a 400 the SDKs do not retry", async () => {
    const handler = scripted([say("one")]);
    llm.setHandler(handler);
    expect((await post("/v1/messages", anthropicBody)).status).toBe(200);
    expect(handler.remaining()).toBe(0);
    const res = await post("/v1/messages", anthropicBody);
    expect(res.status).toBe(400);
    expect(res.headers.get("x-should-retry")).toBe("false");
    expect(llm.handlerErrors.map((e) => e.message)).toEqual([
      "scripted: no reply left for request #1 (the script has 1 steps)",
    ]);
  });

  it("answers 404 for an unknown route", async () => {
    expect((await post("/v1/completions", {})).status).toBe(404);
  });

  it("checks the key when asked to, from x-api-key or a bearer token", async () => {
    const strict = await startFakeLlm({ requireApiKey: "right" });
    try {
      const call = (headers: Record<string, string>) =>
        fetch(`${strict.url}/v1/messages`, { method: "POST", headers, body: JSON.stringify(anthropicBody) });
      expect((await call({ "x-api-key": "right" })).status).toBe(200);
      expect((await call({ authorization: "Bearer right" })).status).toBe(200);
      expect((await call({ "x-api-key": "wrong" })).status).toBe(401);
      expect((await call({})).status).toBe(401);
    } finally {
      await strict.close();
    }
  });

  it("closes while a request hangs, failing that request", async () => {
    const own = await startFakeLlm({ handler: () => ({ hang: true }) });
    const pending = fetch(`${own.url}/v1/messages`, { method: "POST", body: JSON.stringify(anthropicBody) });
    while (own.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await own.close();
    await expect(pending).rejects.toThrow();
  });
});

describe("Anthropic prompt caching, as the API reports it", () => {
  const marked = (text: string, model = "claude-haiku-4-5") => ({
    model,
    max_tokens: 100,
    messages: [{ role: "user", content: [{ type: "text", text, cache_control: { type: "ephemeral" } }] }],
  });
  const usageOf = async (body: unknown) =>
    ((await (await post("/v1/messages", body)).json()) as { usage: Record<string, number> }).usage;

  it("caches nothing under the model's minimum, and nothing without a breakpoint", async () => {
    const small = "x".repeat(4 * 3000); // ≈ 3,000 tokens: under Haiku 4.5's 4,096, over Sonnet's 1,024
    for (let i = 0; i < 2; i++) {
      const u = await usageOf(marked(small));
      expect([u.cache_creation_input_tokens, u.cache_read_input_tokens]).toEqual([0, 0]);
    }
    const big = "y".repeat(4 * 5000);
    await usageOf({ ...anthropicBody, messages: [{ role: "user", content: big }] });
    const unmarked = await usageOf({ ...anthropicBody, messages: [{ role: "user", content: big }] });
    expect(unmarked.cache_read_input_tokens).toBe(0);
    expect((await usageOf(marked(small, "claude-sonnet-4-6"))).cache_creation_input_tokens).toBeGreaterThan(
      3000,
    );
  });

  it("writes a prefix at or over the minimum, then reads it from a later request that extends it", async () => {
    const big = "y".repeat(4 * 5000);
    const first = await usageOf(marked(big));
    expect(first.cache_read_input_tokens).toBe(0);
    expect(first.cache_creation_input_tokens).toBeGreaterThanOrEqual(5000);
    const next = {
      model: "claude-haiku-4-5",
      max_tokens: 100,
      messages: [
        { role: "user", content: [{ type: "text", text: big }] },
        { role: "assistant", content: [{ type: "text", text: "done" }] },
        { role: "user", content: [{ type: "text", text: "more", cache_control: { type: "ephemeral" } }] },
      ],
    };
    const second = await usageOf(next);
    expect(second.cache_read_input_tokens).toBe(first.cache_creation_input_tokens);
    expect(second.cache_creation_input_tokens).toBeGreaterThan(0);
    expect(second.cache_creation_input_tokens).toBeLessThan(50);
    // Another model has its own cache.
    expect(
      (await usageOf({ ...marked(big), model: "claude-haiku-4-5-20251001" })).cache_read_input_tokens,
    ).toBe(0);
  });
});
