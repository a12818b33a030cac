import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseTranscriptLine, TranscriptCollector } from "../../../src/core/client-transcript.js";
import {
  claudeConfigDirs,
  MAX_LINE_BYTES,
  projectSlug,
  readTranscriptInto,
  transcriptCandidates,
} from "../../../src/store/claude-transcript.js";
import { assistant, mcp, toolResult, userPrompt } from "./fixtures/claude-lines.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "transcript-"));
  dirs.push(dir);
  const path = join(dir, "s.jsonl");
  writeFileSync(path, text);
  return path;
}

describe("parseTranscriptLine", () => {
  it("keeps usage, model, timestamp and delegate tool calls, never message text", () => {
    const [text, tool] = assistant({
      id: "msg_1",
      usage: { input: 7, output: 11, cacheRead: 30_000, cacheWrite: 200 },
      text: "SECRET-PLAN-TEXT",
      tools: [[mcp("create_mini_task"), { project: "split-todoist", title: "SECRET-TITLE" }]],
    });
    const a = parseTranscriptLine(text!, 0);
    const b = parseTranscriptLine(tool!, 1);
    expect(a).toMatchObject({
      kind: "message",
      message: {
        id: "msg_1",
        requestId: "req_msg_1",
        model: "claude-sonnet-4-5",
        sidechain: false,
        usage: { input_tokens: 7, output_tokens: 11, cache_read_tokens: 30_000, cache_write_tokens: 200 },
        calls: [],
      },
    });
    expect(b).toMatchObject({ message: { calls: [{ tool: "create_mini_task", project: "split-todoist" }] } });
    expect(JSON.stringify([a, b])).not.toMatch(/SECRET/);
  });

  it("reads the project from task_id, task_ids, template and specs", () => {
    const project = (input: Record<string, unknown>) => {
      const [line] = assistant({
        id: "m",
        usage: { input: 1, output: 1 },
        tools: [[mcp("get_task"), input]],
      });
      const p = parseTranscriptLine(line!, 0);
      return p?.kind === "message" ? p.message.calls[0]?.project : undefined;
    };
    expect(project({ task_id: "alpha/01-x" })).toBe("alpha");
    expect(project({ task_ids: ["beta/02-y"] })).toBe("beta");
    expect(project({ template: "gamma/t01-z" })).toBe("gamma");
    expect(project({ specs: [{ project: "delta" }] })).toBe("delta");
    expect(project({})).toBeNull();
    expect(project({ task_id: "../../etc" })).toBeNull();
  });

  it("ignores other servers' and built-in tools, tool results, meta lines, synthetic messages and junk", () => {
    const [line] = assistant({
      id: "m",
      usage: { input: 1, output: 1 },
      tools: [
        ["Read", { file_path: "/x" }],
        ["mcp__other__search", { q: "x" }],
      ],
    });
    expect(parseTranscriptLine(line!, 0)).toMatchObject({ message: { calls: [] } });
    expect(parseTranscriptLine(toolResult("t", '{"type":"user"}'), 0)).toBeNull();
    expect(parseTranscriptLine(userPrompt("x", { isMeta: true }), 0)).toBeNull();
    expect(parseTranscriptLine(userPrompt("x"), 0)).toMatchObject({ kind: "prompt" });
    const [synthetic] = assistant({ id: "m2", model: "<synthetic>", usage: { input: 0, output: 0 } });
    expect(parseTranscriptLine(synthetic!, 0)).toBeNull();
    expect(parseTranscriptLine('{"type":"assistant", torn', 0)).toBeNull();
    expect(parseTranscriptLine('{"type":"summary","summary":"x"}', 0)).toBeNull();
  });
});

describe("TranscriptCollector", () => {
  it("counts a streamed message once by message id + request id, keeping its biggest line and every tool call", () => {
    const c = new TranscriptCollector();
    const [first] = assistant({ id: "msg_a", usage: { input: 10, output: 1 }, text: "thinking" });
    const [, tool] = assistant({
      id: "msg_a",
      usage: { input: 10, output: 90 },
      text: "x",
      tools: [[mcp("dispatch_to_small_model"), { task_id: "p/01-a" }]],
    });
    for (const l of [first!, tool!, first!]) c.add(l);
    // Same message id under another request (a retry billed again) counts separately.
    for (const l of assistant({ id: "msg_a", requestId: "req_other", usage: { input: 5, output: 5 } }))
      c.add(l);
    const ms = c.plannerMessages();
    expect(ms).toHaveLength(2);
    expect(ms[0]!.usage).toEqual({
      input_tokens: 10,
      output_tokens: 90,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
    });
    expect(ms[0]!.calls).toEqual([{ tool: "dispatch_to_small_model", project: "p" }]);
    expect(ms[1]!.key).toBe("msg_a|req_other");
  });
});

describe("readTranscriptInto", () => {
  it("stops at the last whole line; the torn rest is read once it is complete", async () => {
    const [done] = assistant({ id: "msg_1", usage: { input: 1, output: 2 } });
    const [torn] = assistant({ id: "msg_2", usage: { input: 3, output: 4 } });
    const path = tempFile(`${userPrompt("go")}\n${done}\n${torn!.slice(0, 40)}`);
    const c1 = new TranscriptCollector();
    const stats = await readTranscriptInto(path, c1);
    expect(c1.plannerMessages().map((m) => m.id)).toEqual(["msg_1"]);
    expect(stats.tornBytes).toBe(40);
    appendFileSync(path, `${torn!.slice(40)}\n`);
    const c2 = new TranscriptCollector();
    await readTranscriptInto(path, c2);
    expect(c2.plannerMessages().map((m) => m.id)).toEqual(["msg_1", "msg_2"]);
  });

  it("skips a line longer than the cap without holding it, and reads on", async () => {
    const huge = toolResult("t", "x".repeat(MAX_LINE_BYTES + 10));
    const [after] = assistant({ id: "msg_after", usage: { input: 1, output: 1 } });
    const path = tempFile(`${huge}\n${after}\n`);
    const c = new TranscriptCollector();
    const stats = await readTranscriptInto(path, c);
    expect(stats.skippedLong).toBe(1);
    expect(c.plannerMessages().map((m) => m.id)).toEqual(["msg_after"]);
  });
});

describe("where the transcript is", () => {
  it("follows Claude Code's layout: config dirs, project slug, session file", () => {
    expect(projectSlug("/home/me/my_repo.v2")).toBe("-home-me-my-repo-v2");
    expect(claudeConfigDirs({ HOME: "/h" })).toEqual(["/h/.claude", "/h/.config/claude"]);
    expect(claudeConfigDirs({ HOME: "/h", CLAUDE_CONFIG_DIR: "/a, /b" })).toEqual(["/a", "/b"]);
    expect(transcriptCandidates({ session: "abc-1", projectDir: "/w/p" }, { HOME: "/h" })).toEqual([
      "/h/.claude/projects/-w-p/abc-1.jsonl",
      "/h/.config/claude/projects/-w-p/abc-1.jsonl",
    ]);
  });
});
