import { describe, expect, it } from "vitest";
import { TranscriptCollector } from "../../../src/core/client-transcript.js";
import { attributePlannerMessages } from "../../../src/core/planner-attribution.js";
import { assistant, mcp, toolResult, userPrompt } from "./fixtures/claude-lines.js";

function attribute(lines: string[]) {
  const c = new TranscriptCollector();
  for (const l of lines) c.add(l);
  return attributePlannerMessages(c.plannerMessages(), c.userPrompts()).map((a) => [
    a.message.id,
    a.project,
    a.phase,
    ...(a.open ? ["open"] : []),
  ]);
}
const turn = (id: string, tools: [string, Record<string, unknown>][] = [], sidechain = false) =>
  assistant({ id, usage: { input: 10, output: 5, cacheRead: 1000 }, tools, sidechain });

describe("attributePlannerMessages", () => {
  it("exploration before the first call, delegation for create/dispatch and between, verification after dispatch", () => {
    const rows = attribute([
      userPrompt("an earlier question"),
      ...turn("m0"),
      userPrompt("split the parser out"),
      ...turn("m1", [["Read", { file_path: "a.ts" }]]),
      ...turn("m2", [["Grep", { pattern: "x" }]]),
      ...turn("m3", [[mcp("should_delegate"), { well_defined: true }]]),
      toolResult("t", "{}"),
      ...turn("m4", [[mcp("create_mini_task"), { project: "split" }]]),
      ...turn("m5"),
      ...turn("m6", [[mcp("dispatch_to_small_model"), { task_id: "split/01-a" }]]),
      ...turn("m7"),
      ...turn("m8", [[mcp("review_task"), { task_id: "split/01-a" }]]),
      ...turn("m9", [[mcp("accept_task"), { task_id: "split/01-a" }]]),
      ...turn("m10"),
    ]);
    expect(rows).toEqual([
      ["m0", null, "other"],
      ["m1", "split", "exploration"],
      ["m2", "split", "exploration"],
      ["m3", "split", "delegation"],
      ["m4", "split", "delegation"],
      ["m5", "split", "delegation"],
      ["m6", "split", "delegation"],
      ["m7", "split", "verification"],
      ["m8", "split", "verification"],
      ["m9", "split", "verification"],
      ["m10", null, "other", "open"],
    ]);
  });

  it("review before any dispatch is delegation; trailing turns close as 'not in any project' at the next prompt", () => {
    const rows = attribute([
      userPrompt("go"),
      ...turn("m1", [[mcp("run_validation"), { task_id: "p/01-a" }]]),
      ...turn("m2"),
      userPrompt("thanks"),
      ...turn("m3"),
    ]);
    expect(rows).toEqual([
      ["m1", "p", "delegation"],
      ["m2", null, "other"],
      ["m3", null, "other", "open"],
    ]);
  });

  it("attributes two projects of one session apart", () => {
    const rows = attribute([
      userPrompt("do both"),
      ...turn("a0"),
      ...turn("a1", [[mcp("create_mini_task"), { project: "alpha" }]]),
      ...turn("b0"),
      ...turn("b1", [[mcp("create_mini_task"), { project: "beta" }]]),
      ...turn("a2", [[mcp("dispatch_to_small_model"), { task_ids: ["alpha/01-x"] }]]),
      ...turn("b2", [[mcp("dispatch_to_small_model"), { task_id: "beta/01-y" }]]),
      ...turn("x"),
      ...turn("a3", [[mcp("review_task"), { task_id: "alpha/01-x" }]]),
      userPrompt("now beta again"),
      ...turn("b3"),
      ...turn("b4", [[mcp("accept_task"), { task_id: "beta/01-y" }]]),
    ]);
    expect(rows).toEqual([
      ["a0", "alpha", "exploration"],
      ["a1", "alpha", "delegation"],
      ["b0", "beta", "exploration"],
      ["b1", "beta", "delegation"],
      ["a2", "alpha", "delegation"],
      ["b2", "beta", "delegation"],
      ["x", "alpha", "verification"],
      ["a3", "alpha", "verification"],
      ["b3", "beta", "exploration"],
      ["b4", "beta", "verification"],
    ]);
  });

  it("places subagent (sidechain) messages by time and keeps their label", () => {
    const c = new TranscriptCollector();
    const main = [
      userPrompt("look around then delegate"),
      ...turn("m1", [["Agent", { subagent_type: "Explore" }]]),
    ];
    const side = turn("sub1", [], true);
    const rest = turn("m2", [[mcp("create_mini_task"), { project: "p" }]]);
    // The subagent's file is read after the main one, but its message happened before m2.
    for (const l of [...main, ...rest, ...side]) c.add(l);
    const out = attributePlannerMessages(c.plannerMessages(), c.userPrompts());
    expect(out.map((a) => [a.message.id, a.project, a.phase, a.message.sidechain])).toEqual([
      ["m1", "p", "exploration", false],
      ["sub1", "p", "exploration", true],
      ["m2", "p", "delegation", false],
    ]);
  });
});
