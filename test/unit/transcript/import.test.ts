import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Ledger } from "../../../src/store/ledger.js";
import { importPlannerUsage } from "../../../src/store/planner-usage.js";
import { assistant, mcp, toolResult, userPrompt } from "./fixtures/claude-lines.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const SESSION = "0b7c5a7e-1111-4222-8333-444455556666";

function setup() {
  const root = mkdtempSync(join(tmpdir(), "planner-import-"));
  dirs.push(root);
  const config = join(root, "claude-config");
  const projectDir = "/work/my repo";
  const folder = join(config, "projects", "-work-my-repo");
  mkdirSync(folder, { recursive: true });
  const transcript = join(folder, `${SESSION}.jsonl`);
  const env = { CLAUDE_CONFIG_DIR: config, CLAUDE_CODE_SESSION_ID: SESSION, CLAUDE_PROJECT_DIR: projectDir };
  const ledger = new Ledger(join(root, "ledger.jsonl"), { fsync: false });
  return { root, folder, transcript, env, ledger };
}

const session = [
  userPrompt("move the parser"),
  ...assistant({
    id: "msg_1",
    usage: { input: 3, output: 40, cacheRead: 31_000, cacheWrite: 900 },
    tools: [["Read", { file_path: "a" }]],
  }),
  toolResult("t1", "file text"),
  ...assistant({
    id: "msg_2",
    usage: { input: 5, output: 700, cacheRead: 32_000, cacheWrite: 300 },
    text: "spec",
    tools: [[mcp("create_mini_task"), { project: "parser" }]],
  }),
  ...assistant({
    id: "msg_3",
    usage: { input: 2, output: 30, cacheRead: 33_000 },
    tools: [[mcp("dispatch_to_small_model"), { task_id: "parser/01-move" }]],
  }),
];

describe("importPlannerUsage", () => {
  it("imports each message once as measured client-transcript records, token for token", async () => {
    const s = setup();
    writeFileSync(s.transcript, `${session.join("\n")}\n`);
    const first = await importPlannerUsage({ config: {}, env: s.env, ledger: s.ledger });
    expect(first).toMatchObject({ status: "transcript", session: SESSION, imported: 3, open: 0 });
    const { entries } = await s.ledger.read();
    expect(
      entries.map((e) => [
        e.project,
        e.phase,
        e.input_tokens,
        e.output_tokens,
        e.cache_read_tokens,
        e.cache_write_tokens,
      ]),
    ).toEqual([
      ["parser", "exploration", 3, 40, 31_000, 900],
      ["parser", "delegation", 5, 700, 32_000, 300],
      ["parser", "delegation", 2, 30, 33_000, 0],
    ]);
    expect(entries[1]).toMatchObject({
      source: "measured",
      origin: "client-transcript",
      session: SESSION,
      message_ids: ["msg_2"],
      request_id: "req_msg_2",
      tools: ["create_mini_task"],
      model: "claude-sonnet-4-5",
    });
    // Sonnet 4.5 catalog rates: $3 in, $15 out, $0.30 cache read, $3.75 cache write per MTok.
    expect(entries[1]!.cost_usd).toBeCloseTo((5 * 3 + 700 * 15 + 32_000 * 0.3 + 300 * 3.75) / 1e6, 9);

    const again = await importPlannerUsage({ config: {}, env: s.env, ledger: s.ledger });
    expect(again.imported).toBe(0);
    expect((await s.ledger.read()).entries).toHaveLength(3);
  });

  it("leaves a torn last line and the open end of the turn for the next import", async () => {
    const s = setup();
    const [tail] = assistant({
      id: "msg_4",
      usage: { input: 1, output: 9, cacheRead: 34_000 },
      text: "done",
    });
    writeFileSync(s.transcript, `${session.join("\n")}\n${tail!.slice(0, 25)}`);
    expect(await importPlannerUsage({ config: {}, env: s.env, ledger: s.ledger })).toMatchObject({
      imported: 3,
      open: 0,
    });
    appendFileSync(s.transcript, `${tail!.slice(25)}\n`);
    // msg_4 closes nothing yet: a later call in this turn may still claim it.
    expect(await importPlannerUsage({ config: {}, env: s.env, ledger: s.ledger })).toMatchObject({
      imported: 0,
      open: 1,
    });
    appendFileSync(s.transcript, `${userPrompt("thanks")}\n`);
    expect(await importPlannerUsage({ config: {}, env: s.env, ledger: s.ledger })).toMatchObject({
      imported: 1,
      open: 0,
    });
    const last = (await s.ledger.read()).entries.at(-1)!;
    expect(last).toMatchObject({ project: "(none)", phase: "other", output_tokens: 9 });
  });

  it("reads subagent transcripts and labels their records", async () => {
    const s = setup();
    writeFileSync(s.transcript, `${session.slice(0, 2).join("\n")}\n`);
    // The subagent ran between msg_1 and msg_2 (a later one would be the open end of the turn).
    const at = new Date(Date.parse(JSON.parse(session[1]!).timestamp) + 1).toISOString();
    const sub = assistant({
      id: "msg_sub",
      usage: { input: 100, output: 50 },
      sidechain: true,
      model: "claude-haiku-4-5",
      ts: at,
    });
    const rest = session.slice(2);
    appendFileSync(s.transcript, `${rest.join("\n")}\n`);
    mkdirSync(join(s.folder, SESSION, "subagents"), { recursive: true });
    writeFileSync(join(s.folder, SESSION, "subagents", "agent-a1.jsonl"), `${sub.join("\n")}\n`);
    await importPlannerUsage({ config: {}, env: s.env, ledger: s.ledger });
    const side = (await s.ledger.read()).entries.find((e) => e.message_ids?.[0] === "msg_sub")!;
    expect(side).toMatchObject({
      project: "parser",
      phase: "exploration",
      sidechain: true,
      model: "claude-haiku-4-5",
      input_tokens: 100,
      output_tokens: 50,
    });
  });

  it("keeps a message of an unpriced model with cost_usd null", async () => {
    const s = setup();
    const lines = [
      userPrompt("x"),
      ...assistant({
        id: "m",
        model: "claude-imaginary-9",
        usage: { input: 1, output: 1 },
        tools: [[mcp("list_tasks"), { project: "p" }]],
      }),
    ];
    writeFileSync(s.transcript, `${lines.join("\n")}\n`);
    await importPlannerUsage({ config: {}, env: s.env, ledger: s.ledger });
    expect((await s.ledger.read()).entries[0]).toMatchObject({ model: "claude-imaginary-9", cost_usd: null });
  });

  it("answers a missing transcript, a directory in its place, or the switch turned off with one note and no records", async () => {
    const s = setup();
    const missing = await importPlannerUsage({ config: {}, env: s.env, ledger: s.ledger });
    expect(missing.status).toBe("unreadable");
    expect(missing.note).toMatch(
      new RegExp(`session ${SESSION} could not be read \\(not found at .*${SESSION}\\.jsonl`),
    );
    mkdirSync(s.transcript);
    expect((await importPlannerUsage({ config: {}, env: s.env, ledger: s.ledger })).status).toBe(
      "unreadable",
    );
    const off = await importPlannerUsage({
      config: { import_planner_usage: false },
      env: s.env,
      ledger: s.ledger,
    });
    expect(off).toMatchObject({ status: "off", imported: 0 });
    expect(off.note).toContain("import_planner_usage: false");
    expect(await importPlannerUsage({ config: {}, env: {}, ledger: s.ledger })).toEqual({
      status: "none",
      imported: 0,
      open: 0,
    });
    expect((await s.ledger.read()).entries).toEqual([]);
  });
});
