import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeLlm, scripted, startFakeLlm, toolUse } from "../../fakes/llm-server.js";

let llm: FakeLlm | undefined;
afterEach(async () => {
  await llm?.close();
  llm = undefined;
});

describe("fake LLM: OpenAI Responses API", () => {
  it("answers the real SDK, JSON and streamed, with text, function calls and usage", async () => {
    llm = await startFakeLlm({
      handler: scripted([
        { text: "hello", usage: { input_tokens: 7, output_tokens: 2, cache_read_tokens: 3 } },
        toolUse("exec_command", { cmd: "ls" }),
      ]),
    });
    const client = new OpenAI({ apiKey: "k", baseURL: llm.openaiBaseURL, maxRetries: 0 });
    const plain = await client.responses.create({ model: "gpt-5-mini", instructions: "sys", input: "hi" });
    expect(plain.output_text).toBe("hello");
    // input_tokens includes the cached ones on this wire.
    expect(plain.usage).toMatchObject({
      input_tokens: 10,
      output_tokens: 2,
      input_tokens_details: { cached_tokens: 3 },
    });

    const stream = await client.responses.create({
      model: "gpt-5-mini",
      input: [
        { type: "message", role: "user", content: [{ type: "input_text", text: "list" }] },
        { type: "function_call", call_id: "c0", name: "exec_command", arguments: "{}" },
        { type: "function_call_output", call_id: "c0", output: "a.ts" },
      ],
      tools: [{ type: "function", name: "exec_command", parameters: { type: "object" }, strict: false }],
      stream: true,
    });
    const types: string[] = [];
    let done: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.completed") done = event.response;
    }
    expect(types[0]).toBe("response.created");
    expect(types).toContain("response.function_call_arguments.delta");
    expect(types.at(-1)).toBe("response.completed");
    expect(done!.output).toMatchObject([
      { type: "function_call", name: "exec_command", arguments: '{"cmd":"ls"}' },
    ]);
    expect(done!.usage!.input_tokens).toBe(Math.ceil(Buffer.byteLength(llm.requests[1]!.rawBody) / 4));

    const seen = llm.requests[1]!;
    expect(seen.wire).toBe("responses");
    expect(seen.toolNames).toEqual(["exec_command"]);
    expect(seen.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
    expect(seen.messages[2]!.toolResults[0]).toEqual({ toolCallId: "c0", content: "a.ts", isError: false });
    expect(llm.requests[0]!.system).toBe("sys");
  });
});
