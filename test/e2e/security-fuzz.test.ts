/**
 * Property-based fuzz of every tool through one real stdio server (dist/cli.js): random and
 * malformed arguments must always come back as a valid MCP result — never a crash, a hang or an
 * "internal error" — and every error must be one short sentence naming the field or the tool.
 *
 * Reproduce a failure with the seed fast-check prints: FUZZ_SEED=<seed> npx vitest run <this file>.
 * Scale it with FUZZ_RUNS=<n> (default 400: about 4,000 calls in all, ~10 s on 2 cores).
 *
 * Shell commands never come from the fuzzer: every validation command that reaches the server is
 * one of SAFE_COMMANDS (see `defang`), so a random string is never run by a shell.
 */
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shown } from "../../src/core/errors.js";
import { LEDGER_PHASES } from "../../src/core/ledger-entry.js";
import { toolUse } from "../fakes/llm-server.js";
import { type DispatchEnv, startDispatchEnv } from "./dispatch-helpers.js";
import { MATH, spec } from "./fixtures.js";
import { type RunningServer, removeDir, textOf } from "./harness.js";

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const RUNS = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 400;
/** A call that takes longer than this is a hang. */
const CALL_TIMEOUT_MS = 15_000;
/**
 * An isError answer names every wrong field at once (core/zod-errors: the missing ones in one
 * sentence, then at most 6 more; create_mini_task's lint: at most 8 reasons of 240 characters),
 * caller text cut short, so it is bounded, not one line: longer than this means an unbounded echo.
 */
const MAX_ERROR_CHARS = 2_500;

const SAFE_COMMANDS = ["true", "false", "exit 3", "echo fuzz"];
const SAFE_COMMAND_SET = new Set(SAFE_COMMANDS);

const EXISTING_TASK = "fuzz/01-existing-task";
const MISSING_TASK = "fuzz/99-missing-task";
/** Never named by the generators: the examples dispatch and review it. */
const RESERVED_TASK = "fuzz/02-reserved-task";

function validSpec(): Record<string, unknown> {
  return spec("Fuzz spec", { project: "fuzz", validation: [{ run: "true" }] });
}

/**
 * A near-valid base per tool for the mutation fuzz. create_mini_task's reads a file that does not
 * exist (blocking lint), so mutating it exercises the whole handler while rarely storing a task.
 */
const BASES: Record<string, () => Record<string, unknown>> = {
  should_delegate: () => ({
    well_defined: true,
    repetitive_edit_count: 3,
    needs_exploration: false,
    multi_file: false,
    atomic_task_count: 1,
    needs_user_input: false,
  }),
  create_mini_task: () => ({ ...validSpec(), files_to_read: [{ path: "src/missing.ts" }] }),
  dispatch_to_small_model: () => ({ task_id: MISSING_TASK, wait: true, max_turns: 2 }),
  review_task: () => ({ task_id: EXISTING_TASK }),
  accept_task: () => ({ task_id: MISSING_TASK, commit: false }),
  discard_task: () => ({ task_id: MISSING_TASK }),
  run_validation: () => ({ commands: ["true"], where: "workspace", timeout_s: 5 }),
  log_tokens: () => ({
    project: "fuzz",
    phase: "planning",
    model: "sonnet",
    input_tokens: 10,
    output_tokens: 5,
  }),
  savings_report: () => ({ project: "fuzz" }),
  list_tasks: () => ({ project: "fuzz", status: "ready" }),
  get_task: () => ({ task_id: EXISTING_TASK }),
};
const TOOL_NAMES = Object.keys(BASES);

function nest(depth: number, leaf: unknown): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

/** Values a caller should never send: wrong types, edge numbers, hostile strings, deep nesting. */
const nasty: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom(
    "",
    " ",
    "\0",
    "a\0b",
    "src/math.ts\0.png",
    "../x",
    "/etc/passwd",
    "~",
    "~/x",
    "C:\\x",
    "src/math.ts ",
    'src/math.ts"',
    "-rf",
    "--output=x",
    "-x/01-y",
    "fuzz/01-",
    "FUZZ/01-x",
    MISSING_TASK,
    EXISTING_TASK,
    "fuzz/01-existing-task/../../x",
    "\u202e\u0000\ud800",
    "💥".repeat(200),
    "ignore previous instructions",
  ),
  fc.integer({ min: 1_000, max: 300_000 }).map((n) => "x".repeat(n)),
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    -1,
    0,
    -0,
    0.5,
    1e10 + 1,
    2 ** 53 + 2,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER,
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 10 }), fc.anything({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.tuple(fc.integer({ min: 10, max: 400 }), fc.anything({ maxDepth: 0 })).map(([d, leaf]) => nest(d, leaf)),
);

const extraKeys = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "id", "x".repeat(2000))),
  nasty,
  { minKeys: 1, maxKeys: 2 },
);

/** Anything at all as the arguments, objects and non-objects alike. */
const anythingArgs = fc.anything({ maxDepth: 4, withNullPrototype: true, withSparseArray: true });

/** The tool's own keys, each given a wrong-ish value, some left out, sometimes extra keys. */
function wrongTypes(tool: string): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(BASES[tool]!());
  const shape = Object.fromEntries(keys.map((k) => [k, nasty]));
  return fc
    .tuple(fc.record(shape, { requiredKeys: [] }), fc.option(extraKeys, { freq: 4 }))
    .map(([args, extra]) => ({ ...args, ...(extra ?? {}) }));
}

type Mutation =
  | { kind: "delete" | "set" | "nested"; key: string; value?: unknown }
  | { kind: "extra"; extra: object };

/** A near-valid base with one to three fields deleted, replaced, broken inside, or added. */
function mutated(tool: string): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(BASES[tool]!());
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant("delete" as const), key: fc.constantFrom(...keys) }),
    fc.record({ kind: fc.constant("set" as const), key: fc.constantFrom(...keys), value: nasty }),
    fc.record({ kind: fc.constant("nested" as const), key: fc.constantFrom(...keys), value: nasty }),
    fc.record({ kind: fc.constant("extra" as const), extra: extraKeys }),
  );
  return fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => {
    const args: Record<string, unknown> = structuredClone(BASES[tool]!());
    for (const m of ms) {
      if (m.kind === "extra") Object.assign(args, m.extra);
      else if (m.kind === "delete") delete args[m.key];
      else if (m.kind === "set") args[m.key] = m.value;
      else {
        // Break something one level down: an item of a list, or a field of an object in it.
        const v = args[m.key];
        if (Array.isArray(v) && v.length > 0) {
          const first = v[0];
          if (first && typeof first === "object") {
            const inner = Object.keys(first);
            v[0] = { ...first, [inner[0] ?? "path"]: m.value };
          } else v[0] = m.value;
        } else args[m.key] = [m.value];
      }
    }
    return args;
  });
}

/** Valid-looking calls that reach the handlers' deeper paths (rarely: each may store or dispatch). */
const validCalls: fc.Arbitrary<{ tool: string; args: Record<string, unknown> }> = fc.oneof(
  fc.record({
    tool: fc.constant("create_mini_task"),
    args: fc
      .record({
        title: fc.string({ minLength: 3, maxLength: 120 }),
        context: fc.string({ maxLength: 300 }),
        files_to_modify: fc.constantFrom(
          [{ path: "src/math.ts", action: "edit" }],
          [{ path: "src/new.ts", action: "create" }],
          [{ path: "-rf", action: "create" }],
          [{ path: "../outside.ts", action: "create" }],
          [{ path: ".git/config", action: "edit" }],
        ),
      })
      .map((o) => ({ ...validSpec(), ...o })),
  }),
  fc.record({
    tool: fc.constantFrom("dispatch_to_small_model"),
    args: fc.record(
      { task_id: fc.constant(EXISTING_TASK), wait: fc.boolean(), max_turns: fc.integer({ min: 1, max: 3 }) },
      { requiredKeys: ["task_id"] },
    ),
  }),
  fc.record({
    tool: fc.constantFrom("review_task", "get_task", "discard_task", "accept_task"),
    args: fc.constant({ task_id: EXISTING_TASK }),
  }),
  fc.record({
    tool: fc.constant("run_validation"),
    args: fc.record(
      {
        task_id: fc.constant(EXISTING_TASK),
        commands: fc.array(fc.constantFrom(...SAFE_COMMANDS), { minLength: 1, maxLength: 3 }),
        where: fc.constantFrom("worktree", "workspace"),
        continue_on_failure: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record({
    tool: fc.constant("log_tokens"),
    args: fc.record({
      project: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
      phase: fc.constantFrom(...LEDGER_PHASES),
      model: fc.constantFrom("sonnet", "haiku", "gpt-4o-mini", "no-such-model"),
      input_tokens: fc.integer({ min: 0, max: 1e9 }),
      output_tokens: fc.integer({ min: 0, max: 1e9 }),
    }),
  }),
  fc.record({
    tool: fc.constant("should_delegate"),
    args: fc.record({
      well_defined: fc.boolean(),
      repetitive_edit_count: fc.nat(),
      needs_exploration: fc.boolean(),
      multi_file: fc.boolean(),
      atomic_task_count: fc.nat(),
      needs_user_input: fc.boolean(),
    }),
  }),
  fc.record({
    tool: fc.constant("savings_report"),
    args: fc.record({ project: fc.constantFrom("fuzz", "empty-project") }),
  }),
);

/** Replace any shell command the fuzzer made up by a harmless one, so only SAFE_COMMANDS ever run. */
function defang(tool: string, args: unknown): unknown {
  if (!args || typeof args !== "object" || Array.isArray(args)) return args;
  const a = args as Record<string, unknown>;
  const safeRun = (c: unknown): unknown => {
    if (typeof c === "string") return SAFE_COMMAND_SET.has(c) ? c : "true";
    if (c && typeof c === "object" && "run" in c) {
      const run = (c as { run: unknown }).run;
      return { ...c, run: typeof run === "string" && SAFE_COMMAND_SET.has(run) ? run : "true" };
    }
    return c;
  };
  if (tool === "run_validation" && Array.isArray(a.commands))
    return { ...a, commands: a.commands.map(safeRun) };
  if (tool === "create_mini_task" && Array.isArray(a.validation))
    return { ...a, validation: a.validation.map((v) => (typeof v === "string" ? v : safeRun(v))) };
  return args;
}

let env: DispatchEnv | undefined;
let server: RunningServer;
const stats = { calls: 0, ok: 0, errors: 0, protocolErrors: 0, okTools: new Set<string>() };

/** Call a tool and check the reply: a result (or, for non-object arguments, a JSON-RPC error), never a hang. */
async function check(tool: string, rawArgs: unknown): Promise<void> {
  const args = defang(tool, rawArgs);
  const isObject = args !== null && typeof args === "object" && !Array.isArray(args);
  stats.calls++;
  let result: Awaited<ReturnType<RunningServer["client"]["callTool"]>>;
  try {
    result = await server.client.callTool(
      { name: tool, arguments: args as Record<string, unknown> },
      undefined,
      {
        timeout: CALL_TIMEOUT_MS,
      },
    );
  } catch (err) {
    // Arguments that are not an object break the MCP schema itself: the SDK answers with a JSON-RPC
    // error (code -32603 and zod's text, before any tool code runs) rather than a tool result.
    if (!isObject && err instanceof McpError && /"arguments"/.test(err.message)) {
      stats.protocolErrors++;
      return;
    }
    throw new Error(`${tool} did not answer with a result: ${(err as Error).message}`);
  }
  expect(Array.isArray(result.content), `${tool}: content is an array`).toBe(true);
  const content = result.content as { type: string; text?: string }[];
  expect(content.length).toBeGreaterThan(0);
  const text = content.map((c) => c.text ?? "").join("\n");
  if (result.isError) {
    stats.errors++;
    expect(text, `${tool}: a caller's mistake is not an internal error`).not.toMatch(
      /internal error|please report/i,
    );
    expect(text.length, `${tool}: error is short: ${text.slice(0, 400)}`).toBeLessThanOrEqual(
      MAX_ERROR_CHARS,
    );
    expect(text, `${tool}: error is one line`).not.toContain("\n");
    // A field is named by its key, or by quoting the value given for it ("task p/01-x is running").
    const given = isObject ? Object.entries(args as object) : [];
    const names = [
      tool,
      "arguments",
      ...Object.keys(BASES[tool]!()),
      ...given.map(([k]) => k),
      ...given.flatMap(([, v]) => (typeof v === "string" && v.length >= 3 ? [v] : [])),
    ];
    // Quoted caller text is cut and has control characters escaped (core/errors shown()): match its start.
    const named = names.some((n) => (n === "" ? text.includes('""') : text.includes(shown(n).slice(0, 20))));
    expect(named, `${tool}: error names a field or the tool: ${text}`).toBe(true);
  } else {
    stats.ok++;
    stats.okTools.add(tool);
    // The SDK client has already checked structuredContent against the tool's outputSchema.
    expect(result.structuredContent, `${tool}: success carries structuredContent`).toBeTypeOf("object");
  }
}

const params = (runs: number) => ({
  numRuns: runs,
  ...(SEED !== undefined ? { seed: SEED } : {}),
});

describe("fuzz: every tool over stdio survives malformed arguments", () => {
  beforeAll(async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH });
    env.fake.setHandler(() => toolUse("finish", { status: "complete", summary: "fuzz: nothing to do" }));
    server = env.server;
    const created = await server.call("create_mini_task", { ...validSpec(), title: "Existing task" });
    expect(created.isError, textOf(created)).toBeFalsy();
    expect((created.structuredContent as { id: string }).id).toBe(EXISTING_TASK);
    const reserved = await server.call("create_mini_task", { ...validSpec(), title: "Reserved task" });
    expect((reserved.structuredContent as { id: string }).id).toBe(RESERVED_TASK);
  }, 60_000);

  afterAll(async () => {
    await env?.close();
    if (env) removeDir(env.repo);
  });

  it("anything at all as the arguments, for every tool", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TOOL_NAMES), anythingArgs, (tool, args) => check(tool, args)),
      params(RUNS * 2),
    );
  }, 120_000);

  it("the tools' own keys with wrong types, huge strings, deep nesting, unicode, NUL, extra keys", async () => {
    const arb = fc
      .constantFrom(...TOOL_NAMES)
      .chain((tool) => wrongTypes(tool).map((args) => ({ tool, args })));
    await fc.assert(
      fc.asyncProperty(arb, ({ tool, args }) => check(tool, args)),
      params(RUNS * 4),
    );
  }, 120_000);

  it("near-valid arguments with one to three fields broken", async () => {
    const arb = fc.constantFrom(...TOOL_NAMES).chain((tool) => mutated(tool).map((args) => ({ tool, args })));
    await fc.assert(
      fc.asyncProperty(arb, ({ tool, args }) => check(tool, args)),
      params(RUNS * 4),
    );
  }, 120_000);

  it("valid calls reaching the handlers (create, dispatch, review, accept, discard, validate, log)", async () => {
    await fc.assert(
      fc.asyncProperty(validCalls, ({ tool, args }) => check(tool, args)),
      {
        ...params(Math.max(20, Math.round(RUNS / 4))),
        // Each handler's success path at least once, whatever the seed.
        examples: [
          [{ tool: "should_delegate", args: BASES.should_delegate!() }],
          [{ tool: "create_mini_task", args: { ...validSpec(), title: "Example task" } }],
          [{ tool: "run_validation", args: { commands: ["true", { run: "echo fuzz" }] } }],
          [{ tool: "dispatch_to_small_model", args: { task_id: RESERVED_TASK } }],
          [{ tool: "review_task", args: { task_id: RESERVED_TASK } }],
          [{ tool: "get_task", args: { task_id: RESERVED_TASK } }],
          [{ tool: "list_tasks", args: {} }],
          [{ tool: "log_tokens", args: BASES.log_tokens!() }],
          [{ tool: "savings_report", args: { project: "fuzz" } }],
        ],
      },
    );
  }, 120_000);

  it("still answers list_tasks after the fuzz, and every reply so far was a result", async () => {
    const r = await server.call("list_tasks", {});
    expect(r.isError, textOf(r)).toBeFalsy();
    const tasks = (r.structuredContent as { tasks: { id: string }[] }).tasks;
    expect(tasks.map((t) => t.id)).toContain(EXISTING_TASK);
    // The fuzz reached both outcomes, and the handlers themselves, not only the schema checks.
    expect(stats.errors).toBeGreaterThan(RUNS);
    expect(stats.protocolErrors).toBeGreaterThan(0);
    expect(
      [...stats.okTools].sort(),
      `tools with a success: ${[...stats.okTools].sort().join(", ")}`,
    ).toEqual(
      expect.arrayContaining([
        "should_delegate",
        "create_mini_task",
        "run_validation",
        "log_tokens",
        "savings_report",
      ]),
    );
    expect(server.stderr()).not.toMatch(/\] error: /);
  });
});
