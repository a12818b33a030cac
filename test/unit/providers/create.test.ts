/**
 * createChatModel: keys, base URLs, what each wire is sent, connection failures.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import {
  createChatModel,
  PLACEHOLDER_API_KEY,
  resolveClientSettings,
} from "../../../src/providers/create.js";
import { type Message, ProviderError } from "../../../src/providers/types.js";
import { type FakeLlm, startFakeLlm } from "../../fakes/llm-server.js";
import { KEY, modelFor, rejectionOf, request, resolved } from "./helpers.js";

let llm: FakeLlm;
let closedURL: string;
beforeAll(async () => {
  llm = await startFakeLlm();
  // A port nothing listens on: a server that was started and closed again.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  closedURL = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((resolve) => probe.close(resolve));
});
afterAll(() => llm.close());
beforeEach(() => llm.reset());

describe("API keys", () => {
  it("rejects a missing key with a sentence naming the variable and the fix", async () => {
    const err = await rejectionOf(createChatModel(resolved("anthropic"), { env: {} }));
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      /^ANTHROPIC_API_KEY is not set; add it to the MCP server's env or set api_key_env for model haiku in delegate\.config\.json, or run another way: OPENAI_API_KEY .*Ollama.*"claude-code" \/ "codex".*"scripted".*\)\.$/,
    );
    expect((err as UserError).field).toBe("models.haiku.api_key_env");
  });

  it("treats an empty key as missing and names a configured api_key_env", () => {
    const model = resolved("openai", { alias: "cheap", apiKeyEnv: "MY_OPENAI_KEY" });
    expect(() => resolveClientSettings(model, { env: { MY_OPENAI_KEY: "", OPENAI_API_KEY: KEY } })).toThrow(
      /^MY_OPENAI_KEY is not set; .* for model cheap in delegate\.config\.json, or run another way: /,
    );
  });

  it("sends the key from the given env to both providers", async () => {
    await (await modelFor(llm, "anthropic")).complete(request());
    await (await modelFor(llm, "openai")).complete(request());
    // This Anthropic SDK sends the key as a bearer token; the API (and the fake) take it or x-api-key.
    expect(llm.requests.map((r) => r.apiKey)).toEqual([KEY, KEY]);
    expect(llm.requests[0]!.headers["anthropic-version"]).toEqual(expect.any(String));
  });

  it("lets an openai-compatible server with a base_url run without a key", async () => {
    const model = resolved("openai-compatible", {
      alias: "local",
      model: "qwen3:8b",
      baseURL: llm.openaiBaseURL,
    });
    const chat = await createChatModel(model, { env: {} });
    const out = await chat.complete(request());
    expect(out.content).toBe("ok");
    expect(llm.requests[0]!.apiKey).toBe(PLACEHOLDER_API_KEY);
  });

  it("asks for a base_url when an openai-compatible model has none", () => {
    const model = resolved("openai-compatible", { alias: "local" });
    expect(() => resolveClientSettings(model, { env: { OPENAI_API_KEY: KEY } })).toThrow(
      "model local is openai-compatible but has no base_url; set models.local.base_url in delegate.config.json.",
    );
  });
});

describe("base URL", () => {
  it.each([
    ["anthropic", "ANTHROPIC_BASE_URL"],
    ["openai", "OPENAI_BASE_URL"],
  ] as const)(
    "%s: the config's base_url wins over %s inherited from the client",
    async (provider, variable) => {
      const model = resolved(provider, {
        baseURL: provider === "anthropic" ? llm.anthropicBaseURL : llm.openaiBaseURL,
      });
      const chat = await createChatModel(model, {
        env: { [model.apiKeyEnv]: KEY, [variable]: closedURL },
        maxRetries: 0,
      });
      await chat.complete(request());
      expect(llm.requests).toHaveLength(1);
    },
  );

  it.each([
    ["anthropic", "ANTHROPIC_BASE_URL"],
    ["openai", "OPENAI_BASE_URL"],
  ] as const)(
    "%s: without a base_url in the config, %s from the given env applies",
    async (provider, variable) => {
      const model = resolved(provider);
      const chat = await createChatModel(model, {
        env: {
          [model.apiKeyEnv]: KEY,
          [variable]: provider === "anthropic" ? llm.anthropicBaseURL : llm.openaiBaseURL,
        },
      });
      await chat.complete(request());
      expect(llm.requests).toHaveLength(1);
    },
  );

  it("reports a server that cannot be reached as one sentence naming the URL", async () => {
    const model = resolved("anthropic", { baseURL: closedURL });
    const chat = await createChatModel(model, { env: { ANTHROPIC_API_KEY: KEY }, maxRetries: 0 });
    const err = await rejectionOf(chat.complete(request()));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: "connection", retryable: true });
    expect((err as Error).message).toMatch(
      new RegExp(
        `^anthropic could not be reached at ${closedURL}.*: check the base_url of model haiku and the network\\.$`,
      ),
    );
  });
});

describe("Anthropic request", () => {
  it("sends no cache marker where the prompt is under the model's minimum cacheable length", async () => {
    await (await modelFor(llm, "anthropic")).complete(request());
    const { body } = llm.requests[0]!;
    expect(body.system).toEqual([{ type: "text", text: "You are the executor." }]);
    expect(body.tools[0]).toEqual({
      name: "read_file",
      description: "Read a file",
      input_schema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
    });
    expect(llm.requests[0]!.rawBody).not.toContain("cache_control");
    expect(body.max_tokens).toBe(512);
  });

  it("marks the newest block once the conversation can be cached; turn 2 reads turn 1 from cache", async () => {
    // Haiku 4.5 caches prefixes of 4,096 tokens or more; the fake counts 4 bytes a token.
    const excerpt = "const x = 1; // a line of the file being edited\n".repeat(400);
    const chat = await modelFor(llm, "anthropic");
    const first: Message[] = [{ role: "user", content: `Do the task.\n${excerpt}` }];
    const turn1 = await chat.complete(request({ messages: first }));
    const marked = llm.requests[0]!.body.messages[0].content;
    expect(marked.at(-1).cache_control).toEqual({ type: "ephemeral" });
    expect(turn1.usage.cache_read_tokens).toBe(0);
    expect(turn1.usage.cache_write_tokens).toBeGreaterThan(4096);

    const second: Message[] = [
      ...first,
      {
        role: "assistant",
        content: "",
        toolCalls: [{ id: "toolu_1", name: "read_file", arguments: { path: "a" } }],
      },
      { role: "tool", results: [{ toolCallId: "toolu_1", content: "text" }] },
    ];
    const turn2 = await chat.complete(request({ messages: second }));
    const body2 = llm.requests[1]!.body;
    // Only the newest block carries the conversation breakpoint.
    expect(JSON.stringify(body2.messages.slice(0, 2))).not.toContain("cache_control");
    expect(body2.messages[2].content.at(-1).cache_control).toEqual({ type: "ephemeral" });
    expect(turn2.usage.cache_read_tokens).toBe(turn1.usage.cache_write_tokens);
    expect(turn2.usage.input_tokens).toBeLessThan(100);
  });

  it("marks the tools+system prefix only when it reaches the minimum alone", async () => {
    const system = "Follow the rules. ".repeat(200); // ≈ 3,600 chars: enough for Sonnet (1,024), not Haiku 4.5 (4,096)
    await (await modelFor(llm, "anthropic", {}, { model: "claude-sonnet-4-6" })).complete(
      request({ system }),
    );
    await (await modelFor(llm, "anthropic")).complete(request({ system }));
    expect(llm.requests[0]!.body.system[0].cache_control).toEqual({ type: "ephemeral" });
    expect(llm.requests[1]!.rawBody).not.toContain("cache_control");
  });

  it("sends neither system nor tools when there are none", async () => {
    await (await modelFor(llm, "anthropic")).complete(request({ system: "", tools: [] }));
    const { body } = llm.requests[0]!;
    expect(body).not.toHaveProperty("system");
    expect(body).not.toHaveProperty("tools");
  });

  it("merges tool results and a following user message into one user turn, results first", async () => {
    await (await modelFor(llm, "anthropic")).complete(
      request({
        messages: [
          { role: "user", content: "Do it." },
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: "toolu_1", name: "read_file", arguments: { path: "a" } }],
          },
          { role: "tool", results: [{ toolCallId: "toolu_1", content: "text" }] },
          { role: "user", content: "Two turns left." },
        ],
      }),
    );
    const { body } = llm.requests[0]!;
    expect(body.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(body.messages[1].content).toEqual([
      { type: "tool_use", id: "toolu_1", name: "read_file", input: { path: "a" } },
    ]);
    expect(body.messages[2].content).toEqual([
      { type: "tool_result", tool_use_id: "toolu_1", content: "text" },
      { type: "text", text: "Two turns left." },
    ]);
  });
});

describe("OpenAI request", () => {
  it("sends max_completion_tokens to OpenAI and the system prompt as the first message", async () => {
    await (await modelFor(llm, "openai")).complete(request());
    const { body } = llm.requests[0]!;
    expect(body.max_completion_tokens).toBe(512);
    expect(body).not.toHaveProperty("max_tokens");
    expect(body.messages[0]).toEqual({ role: "system", content: "You are the executor." });
    expect(body.tools[0]).toEqual({
      type: "function",
      function: {
        name: "read_file",
        description: "Read a file",
        parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
      },
    });
  });

  it("sends max_tokens to an OpenAI-compatible server, and no OpenAI organization header", async () => {
    const model = resolved("openai-compatible", { alias: "local", baseURL: llm.openaiBaseURL });
    const chat = await createChatModel(model, { env: { OPENAI_API_KEY: KEY, OPENAI_ORG_ID: "org-secret" } });
    await chat.complete(request());
    const [req] = llm.requests;
    expect(req!.body.max_tokens).toBe(512);
    expect(req!.body).not.toHaveProperty("max_completion_tokens");
    expect(req!.headers["openai-organization"]).toBeUndefined();
  });

  it("sends the organization from the given env to OpenAI itself", async () => {
    const chat = await createChatModel(resolved("openai", { baseURL: llm.openaiBaseURL }), {
      env: { OPENAI_API_KEY: KEY, OPENAI_ORG_ID: "org-mine" },
    });
    await chat.complete(request());
    expect(llm.requests[0]!.headers["openai-organization"]).toBe("org-mine");
  });

  it("asks for usage in the stream", async () => {
    await (await modelFor(llm, "openai", { stream: true })).complete(request());
    expect(llm.requests[0]!.body.stream_options).toEqual({ include_usage: true });
  });

  it("sends an assistant turn that only called tools with null content and JSON-string arguments", async () => {
    await (await modelFor(llm, "openai")).complete(
      request({
        messages: [
          { role: "user", content: "Do it." },
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: "call_1", name: "read_file", arguments: { path: "a" } }],
          },
          { role: "tool", results: [{ toolCallId: "call_1", content: "text" }] },
        ],
      }),
    );
    const { body } = llm.requests[0]!;
    expect(body.messages[2]).toEqual({
      role: "assistant",
      content: null,
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "read_file", arguments: '{"path":"a"}' } },
      ],
    });
    expect(body.messages[3]).toEqual({ role: "tool", tool_call_id: "call_1", content: "text" });
  });
});
