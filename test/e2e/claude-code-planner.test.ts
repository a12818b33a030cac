/**
 * The real Claude Code CLI as the planner: a scripted model (the fake LLM) drives the delegate
 * tools through Claude Code's own MCP client, Claude Code writes its real session transcript, and
 * savings_report imports the planner's usage from it.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LedgerEntry } from "../../src/core/ledger-entry.js";
import { type ClaudeCodeRun, claudeProjectSlug, runClaudeCode } from "../fakes/claude-code.js";
import {
  type FakeAnswer,
  type FakeLlm,
  type FakeRequest,
  type FakeUsage,
  startFakeLlm,
} from "../fakes/llm-server.js";
import { makeDispatchRepo } from "./dispatch-helpers.js";
import { editSubtract, finish, MATH, spec } from "./fixtures.js";
import { assertBuilt, CLI, cleanEnv, removeDir } from "./harness.js";

const TOOL = (name: string) => `mcp__delegate__${name}`;

/** The planner's usage per turn: distinct figures, with cache reads as Claude Code's would be. */
function plannerUsage(turn: number): Required<FakeUsage> {
  return {
    input_tokens: 3 + turn,
    output_tokens: 100 + 10 * turn,
    cache_read_tokens: 32_000 + 1000 * turn,
    cache_write_tokens: 500 + turn,
  };
}

/** The last tool result the planner received, parsed (Claude Code sends structuredContent as JSON text). */
function lastResult(req: FakeRequest): Record<string, unknown> {
  const results = req.messages.flatMap((m) => m.toolResults);
  const text = results.at(-1)?.content ?? "{}";
  return JSON.parse(text.replace(/<system-reminder>[\s\S]*$/, "").trim()) as Record<string, unknown>;
}

type PlannerStep = (req: FakeRequest) => Omit<FakeAnswer, "usage">;

/**
 * Waits until Claude Code has written each of `ids` to its transcript. Claude Code appends a
 * message some time after it received it, so without this the report's view of the session
 * would depend on how fast the CLI flushes. A condition, not a timing assumption: after 60 s it
 * gives up and the assertions below say what was missing.
 */
async function transcriptHolds(path: string, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const text = existsSync(path) ? readFileSync(path, "utf8") : "";
    if (ids.every((id) => text.includes(`"${id}"`))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The planner turn that calls savings_report. */
const REPORT_TURN = 6;

const PLANNER: PlannerStep[] = [
  // Exploration: Claude Code's own Read tool.
  () => ({
    text: "Let me look at the file.",
    toolCalls: [{ name: "Read", arguments: { file_path: "src/math.ts" } }],
  }),
  () => ({
    toolCalls: [
      {
        name: TOOL("should_delegate"),
        arguments: {
          well_defined: true,
          repetitive_edit_count: 0,
          needs_exploration: false,
          multi_file: false,
          atomic_task_count: 1,
          needs_user_input: false,
        },
      },
    ],
  }),
  () => ({
    text: "Writing the spec.",
    toolCalls: [{ name: TOOL("create_mini_task"), arguments: spec("Add subtract") }],
  }),
  (req) => ({
    toolCalls: [{ name: TOOL("dispatch_to_small_model"), arguments: { task_id: lastResult(req).id } }],
  }),
  (req) => {
    const results = lastResult(req).results as { task_id: string }[];
    return { toolCalls: [{ name: TOOL("review_task"), arguments: { task_id: results[0]!.task_id } }] };
  },
  // A second project in the same session.
  () => ({ toolCalls: [{ name: TOOL("list_tasks"), arguments: { project: "other" } }] }),
  () => ({ toolCalls: [{ name: TOOL("savings_report"), arguments: { project: "calc" } }] }),
  () => ({ text: "Done." }),
];

describe("Claude Code as the planner: usage measured from its own transcript", () => {
  let fake: FakeLlm;
  let repo: string;
  let run: ClaudeCodeRun;
  /** What the fake answered to each planner request: message id → usage. */
  const answered = new Map<string, Required<FakeUsage>>();
  let reportSeen: Record<string, unknown> | undefined;
  const home = realpathSync(mkdtempSync(join(tmpdir(), "claude-home-")));
  const sessionId = randomUUID();
  /** The planner records the report imported inside the session (before any outside report). */
  let inSession: LedgerEntry[] = [];

  beforeAll(async () => {
    assertBuilt();
    let turn = 0;
    let executorTurn = 0;
    fake = await startFakeLlm({
      handler: async (req) => {
        if (req.toolNames.includes("finish")) return [editSubtract, finish][executorTurn++]!;
        // Claude Code's side requests (no tools) are not planner turns of the transcript.
        if (req.toolNames.length === 0) return { text: "ok" };
        const step = PLANNER[turn];
        if (!step) throw new Error(`planner script has no turn ${turn}`);
        if (turn === REPORT_TURN)
          await transcriptHolds(
            join(home, ".claude", "projects", claudeProjectSlug(repo), `${sessionId}.jsonl`),
            [...answered.keys()],
          );
        if (turn === REPORT_TURN + 1) reportSeen = lastResult(req);
        const usage = plannerUsage(turn++);
        answered.set(`msg_fake_${req.index}`, usage);
        return { ...step(req), usage };
      },
    });
    repo = makeDispatchRepo(fake, { "src/math.ts": MATH });
    run = await runClaudeCode({
      cwd: repo,
      home,
      sessionId,
      prompt: "Add a subtract function to src/math.ts; delegate it.",
      baseURL: fake.url,
      allowedTools: ["Read", "mcp__delegate"],
      mcpServers: {
        delegate: {
          command: process.execPath,
          args: [CLI, "--root", repo],
          env: { FAKE_KEY: "fake-key", DELEGATE_LOG: "warn" },
        },
      },
    });
    inSession = ledger().filter((e) => e.origin === "client-transcript");
  }, 180_000);

  afterAll(async () => {
    await run?.cleanup();
    await fake?.close();
    if (repo) removeDir(repo);
    removeDir(home);
  });

  function ledger(): LedgerEntry[] {
    return readFileSync(`${repo}/mini-projects/ledger.jsonl`, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LedgerEntry);
  }

  it("ran offline and drove every scripted planner turn", () => {
    expect({ exit: run.exitCode, killed: run.killed, stderr: run.stderr.slice(0, 500) }).toEqual({
      exit: 0,
      killed: false,
      stderr: expect.any(String),
    });
    expect(fake.handlerErrors).toEqual([]);
    expect(run.result?.result).toBe("Done.");
    expect(answered.size).toBe(PLANNER.length);
    // Any host outside 127.0.0.1 would have been refused here and listed; the test does not depend on it.
    expect(Array.isArray(run.blockedHosts)).toBe(true);
  });

  /** The planner's messages before the final answer, as the fake answered them, in order. */
  const expectedRows = () =>
    [...answered.entries()]
      .slice(0, REPORT_TURN + 1)
      .map(([id, u]) => [
        [id],
        id.replace("msg_", "req_"),
        u.input_tokens,
        u.output_tokens,
        u.cache_read_tokens,
        u.cache_write_tokens,
      ]);
  const rows = (entries: readonly LedgerEntry[]) =>
    entries.map((e) => [
      e.message_ids,
      e.request_id,
      e.input_tokens,
      e.output_tokens,
      e.cache_read_tokens,
      e.cache_write_tokens,
    ]);
  const PHASES = [
    ["calc", "exploration"],
    ["calc", "delegation"],
    ["calc", "delegation"],
    ["calc", "delegation"],
    ["calc", "verification"],
    ["other", "delegation"],
    ["calc", "delegation"],
  ];

  it("imports the planner's messages token for token, each once, attributed by the delegate calls", () => {
    // The savings_report call imported every message written before it: the fake answered it only
    // once the transcript held them. The message carrying the call itself may or may not be
    // written yet (Claude Code's flush), so it is the one row allowed to be missing.
    expect(inSession.length).toBeGreaterThanOrEqual(REPORT_TURN);
    expect(rows(inSession)).toEqual(expectedRows().slice(0, inSession.length));
    expect(inSession.map((e) => [e.project, e.phase])).toEqual(PHASES.slice(0, inSession.length));
    for (const e of inSession) {
      expect(e).toMatchObject({
        source: "measured",
        session: run.sessionId,
        model: "claude-sonnet-4-5",
        provider: "anthropic",
      });
      expect(e.cost_usd).toBeGreaterThan(0);
    }
    // Claude Code wrote the text-and-tool messages on several lines; each counted once.
    const lines = readFileSync(run.transcriptPath, "utf8")
      .split("\n")
      .filter((l) => l.includes('"msg_fake_'));
    const perId = new Map<string, number>();
    for (const l of lines) {
      const id = /"id":"(msg_fake_\d+)"/.exec(l)?.[1];
      if (id) perId.set(id, (perId.get(id) ?? 0) + 1);
    }
    expect(Math.max(...perId.values())).toBeGreaterThan(1);
  });

  it("reports the planner figures as measured and the counterfactual as modelled", () => {
    expect(reportSeen).toMatchObject({
      project: "calc",
      planner_source: `measured from the Claude Code transcript, session ${run.sessionId}`,
      counterfactual_basis: "modelled",
    });
    const terms = (reportSeen!.terms as { term: string; detail?: string }[]).map((t) => t.term);
    expect(terms).toContain("self-execution: planner context re-read");
    // The context re-read is priced at the planner's context when it dispatched: the message that
    // called dispatch_to_small_model.
    const dispatch = inSession.find((e) => e.tools?.includes("dispatch_to_small_model"));
    const context = dispatch!.input_tokens + dispatch!.cache_read_tokens + dispatch!.cache_write_tokens;
    expect(context).toBe(6 + 35_000 + 503);
    const reread = (reportSeen!.terms as { term: string; detail?: string }[]).find(
      (t) => t.term === "self-execution: planner context re-read",
    );
    expect(reread!.detail).toContain("at 36k context");
  });

  it("imports nothing twice; the session's later turns come in once the turn has closed", () => {
    // `delegate-mcp report` run outside the session reads its transcript as Claude Code left it.
    const env = cleanEnv({
      HOME: run.home,
      CLAUDE_CONFIG_DIR: run.configDir,
      CLAUDE_PROJECT_DIR: repo,
      CLAUDE_CODE_SESSION_ID: run.sessionId,
    });
    const report = () =>
      JSON.parse(
        execFileSync(process.execPath, [CLI, "report", "--root", repo, "--project", "calc", "--json"], {
          env,
          encoding: "utf8",
        }),
      );
    report();
    report();
    const after = ledger().filter((e) => e.origin === "client-transcript");
    // Every message up to the report's call, once each; the final "Done." stays open: the
    // session's turn is still the one in progress.
    expect(rows(after)).toEqual(expectedRows());
    expect(after.map((e) => [e.project, e.phase])).toEqual(PHASES);
  });
});
