import { describe, expect, it } from "vitest";
import {
  CliUsageTracker,
  codexUsage,
  parseClaudeLine,
  parseCodexLine,
} from "../../../src/core/cli-events.js";

const usage = (i: number, o: number, r = 0, w = 0) => ({
  input_tokens: i,
  output_tokens: o,
  cache_read_input_tokens: r,
  cache_creation_input_tokens: w,
});

describe("Claude Code stream-json events", () => {
  it("reads init, assistant, retry and result lines; ignores what is not JSON", () => {
    expect(parseClaudeLine("not json")).toBeNull();
    expect(
      parseClaudeLine(
        JSON.stringify({
          type: "system",
          subtype: "init",
          tools: ["mcp__d__finish"],
          mcp_servers: [{ name: "delegate", status: "connected" }],
          apiKeySource: "none",
        }),
      ),
    ).toEqual({
      kind: "init",
      tools: ["mcp__d__finish"],
      mcpServers: [{ name: "delegate", status: "connected" }],
      apiKeySource: "none",
    });
    expect(
      parseClaudeLine(
        JSON.stringify({
          type: "assistant",
          message: {
            id: "m1",
            usage: usage(10, 1, 5, 2),
            content: [
              { type: "text", text: "hi" },
              { type: "tool_use", name: "mcp__d__edit_file" },
            ],
          },
        }),
      ),
    ).toEqual({
      kind: "assistant",
      messageId: "m1",
      usage: { input_tokens: 10, output_tokens: 1, cache_read_tokens: 5, cache_write_tokens: 2 },
      toolCalls: ["mcp__d__edit_file"],
      text: "hi",
    });
    expect(
      parseClaudeLine(
        JSON.stringify({
          type: "system",
          subtype: "api_retry",
          error_status: 401,
          error: "authentication_failed",
        }),
      ),
    ).toEqual({
      kind: "retry",
      status: 401,
      error: "authentication_failed",
    });
    expect(
      parseClaudeLine(
        JSON.stringify({
          type: "result",
          subtype: "error_max_turns",
          is_error: true,
          num_turns: 3,
          usage: usage(30, 9),
        }),
      ),
    ).toMatchObject({ kind: "result", subtype: "error_max_turns", isError: true, turns: 3 });
  });
});

describe("CliUsageTracker", () => {
  it("hands out each request once, then the result's remainder, so the records add up to the CLI's totals", () => {
    const t = new CliUsageTracker();
    const u = (i: number, o: number) => ({
      input_tokens: i,
      output_tokens: o,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
    });
    expect(t.assistant("a", u(100, 1))).toEqual({ usage: u(100, 1), newRequest: true });
    // The same request's second content block: nothing new.
    expect(t.assistant("a", u(100, 1))).toBeNull();
    expect(t.assistant("b", u(120, 1))).toEqual({ usage: u(120, 1), newRequest: true });
    expect(t.turns).toBe(2);
    // The result knows the real output: 2 + 7.
    expect(t.remainder(u(220, 9))).toEqual(u(0, 7));
    expect(t.total).toEqual(u(220, 9));
    expect(t.remainder(u(220, 9))).toBeNull();
  });
});

describe("Codex exec --json events", () => {
  it("splits cached tokens out of input_tokens and reads turn, item and failure events", () => {
    expect(codexUsage({ input_tokens: 1000, cached_input_tokens: 300, output_tokens: 50 })).toEqual({
      input_tokens: 700,
      output_tokens: 50,
      cache_read_tokens: 300,
      cache_write_tokens: 0,
    });
    expect(
      parseCodexLine(
        JSON.stringify({ type: "turn.completed", usage: { input_tokens: 5, output_tokens: 1 } }),
      ),
    ).toEqual({
      kind: "turn_completed",
      usage: { input_tokens: 5, output_tokens: 1, cache_read_tokens: 0, cache_write_tokens: 0 },
    });
    expect(
      parseCodexLine(
        JSON.stringify({ type: "item.completed", item: { type: "agent_message", text: "done" } }),
      ),
    ).toEqual({
      kind: "item",
      itemType: "agent_message",
      text: "done",
    });
    expect(
      parseCodexLine(JSON.stringify({ type: "turn.failed", error: { message: "401 Unauthorized" } })),
    ).toEqual({
      kind: "failed",
      message: "401 Unauthorized",
    });
    // A reconnect is a notice, not the end.
    expect(parseCodexLine(JSON.stringify({ type: "error", message: "Reconnecting... 1/5" }))).toEqual({
      kind: "notice",
      message: "Reconnecting... 1/5",
    });
  });
});
