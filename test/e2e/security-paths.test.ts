/**
 * Hostile paths through the real stdio server: in create_mini_task's files_to_read and
 * files_to_modify, and in the scripted executor's read_file / write_file / edit_file calls.
 * Every one is refused with its reason, and the file system shows nothing was created outside
 * the workspace (or, for protected files, inside it).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeAnswer, type FakeRequest, toolUse } from "../fakes/llm-server.js";
import { byTitle, type DispatchEnv, startDispatchEnv } from "./dispatch-helpers.js";
import { MATH, spec as mathSpec } from "./fixtures.js";
import { git, removeDir, tempDir, textOf } from "./harness.js";

const SECRET = "TOP-SECRET-OUTSIDE-THE-WORKSPACE";
const MCP_JSON = '{ "mcpServers": {} }\n';

type Attempt = {
  status: string;
  refused?: string[];
  out_of_scope?: string[];
  files_changed: { path: string }[];
};

let env: DispatchEnv;
let repo: string;
/** A directory outside the workspace holding a secret, and the targets symlinks point at. */
let outside: string;
/** `<repo>-evil`: shares the repo's name as a prefix, the classic prefix-check escape. */
let sibling: string;

/** fixtures' spec() in project "sec", its validation passing while src/math.ts exports any function. */
function spec(title: string, extra: Record<string, unknown> = {}) {
  return mathSpec(title, {
    project: "sec",
    validation: [{ run: "grep -q 'export function' src/math.ts" }],
    ...extra,
  });
}

async function call(name: string, args: Record<string, unknown>) {
  return env.server.call(name, args);
}

async function create(s: Record<string, unknown>): Promise<string> {
  const r = await call("create_mini_task", s);
  expect(r.isError, textOf(r)).toBeFalsy();
  return (r.structuredContent as { id: string }).id;
}

async function dispatch(id: string, extra: Record<string, unknown> = {}) {
  const r = await call("dispatch_to_small_model", { task_id: id, ...extra });
  expect(r.isError, textOf(r)).toBeFalsy();
  return (r.structuredContent as { results: { status: string; out_of_scope?: string[] }[] }).results[0]!;
}

async function lastAttempt(id: string): Promise<Attempt> {
  const r = await call("get_task", { task_id: id });
  expect(r.isError, textOf(r)).toBeFalsy();
  return (r.structuredContent as { attempts: Attempt[] }).attempts.at(-1)!;
}

/** Tool results the executor got back, in order, across the whole conversation of its last request. */
function toolResultsOf(req: FakeRequest) {
  return req.messages.flatMap((m) => m.toolResults);
}

function lastRequestFor(title: string): FakeRequest {
  const reqs = env.fake.requests.filter((r) => r.messages[0]?.text.includes(`# Task: ${title}`));
  expect(reqs.length, `requests for ${title}`).toBeGreaterThan(0);
  return reqs.at(-1)!;
}

/** One executor turn making all `calls` at once. */
function many(calls: [string, Record<string, unknown>][]): FakeAnswer {
  return { toolCalls: calls.map(([name, args]) => ({ name, arguments: args })) };
}

const finish = toolUse("finish", { status: "complete", summary: "done" });

/** Every path a careless or hostile caller might send, with the reason it must be refused for. */
function hostilePaths(): [string, RegExp][] {
  return [
    ["../x", /escapes the workspace/],
    ["/etc/passwd", /absolute path outside the workspace/],
    [`../${basename(repo)}-evil/x`, /escapes the workspace/],
    [`${sibling}/x`, /absolute path outside the workspace/],
    ["src/a\0b.ts", /NUL byte/],
    ["~", /home-directory/],
    ["~/x", /home-directory/],
    ["C:\\x", /Windows-style/],
    ["src/math.ts ", /whitespace/],
    ['src/math.ts"', /quote/],
    ["src/link-out.ts", /symlink \(via src\/link-out\.ts\) to .* outside the workspace/],
    ["src/dir-out/secret.txt", /symlink \(via src\/dir-out\) to .* outside the workspace/],
    ["src/dangling.ts", /symlink \(via src\/dangling\.ts\) to .* outside the workspace/],
  ];
}

/** What must never exist after any of the calls below. */
function mustNotExist(): string[] {
  return [
    join(outside, "made-by-write.txt"),
    join(outside, "planted-target.txt"),
    join(sibling, "x"),
    join(repo, "x"), // ~/x with HOME at the repo
    join(repo, ".git", "hooks", "pre-commit"),
    join(repo, ".git", "delegate-worktrees", "sec", "x"), // ../x from a worktree
  ];
}

beforeAll(async () => {
  outside = tempDir("delegate-outside-");
  writeFileSync(join(outside, "secret.txt"), `${SECRET}\n`);
  env = await startDispatchEnv({
    "src/math.ts": MATH,
    "src/notes.md": "# notes\nplain notes\n",
    ".mcp.json": MCP_JSON,
  });
  repo = env.repo;
  sibling = `${repo}-evil`;
  mkdirSync(sibling);
  symlinkSync(join(outside, "secret.txt"), join(repo, "src/link-out.ts"));
  symlinkSync(outside, join(repo, "src/dir-out"));
  symlinkSync(join(outside, "made-by-write.txt"), join(repo, "src/dangling.ts"));
  git(repo, "add", "src/link-out.ts", "src/dir-out", "src/dangling.ts");
  git(repo, "commit", "-q", "-m", "symlinks pointing outside");
}, 60_000);

afterAll(async () => {
  await env?.close();
  for (const d of [repo, outside, sibling]) if (d) removeDir(d);
});

describe("create_mini_task refuses hostile paths, naming the field and the reason", () => {
  it.each(["files_to_read", "files_to_modify"] as const)("in %s", async (field) => {
    const before = (await call("list_tasks", { project: "sec" })).structuredContent as { count: number };
    for (const [path, reason] of hostilePaths()) {
      const entry = field === "files_to_read" ? { path } : { path, action: "create" };
      const r = await call("create_mini_task", spec(`Hostile ${field}`, { [field]: [entry] }));
      expect(r.isError, `${JSON.stringify(path)} must be refused`).toBe(true);
      const text = textOf(r);
      expect(text, JSON.stringify(path)).toContain(`${field}[0].path`);
      expect(text, JSON.stringify(path)).toMatch(reason);
      expect(text).not.toContain("\0");
      expect(text).not.toContain(SECRET);
    }
    const after = (await call("list_tasks", { project: "sec" })).structuredContent as { count: number };
    expect(after.count).toBe(before.count);
    for (const p of mustNotExist()) expect(existsSync(p), p).toBe(false);
    expect(readdirSync(sibling)).toEqual([]);
  });
});

describe("the executor's file tools refuse the same paths", () => {
  it("refuses reads, writes and edits of every hostile path and creates nothing outside", async () => {
    const title = "Escape attempts";
    const calls: [string, Record<string, unknown>][] = [];
    for (const [path] of hostilePaths()) {
      calls.push(["read_file", { path }]);
      calls.push(["write_file", { path, content: "pwned\n" }]);
      calls.push(["edit_file", { path, old_string: "x", new_string: "pwned" }]);
    }
    env.fake.setHandler(byTitle({ [title]: [many(calls), finish] }));
    const id = await create(spec(title));
    const r = await dispatch(id);
    // Nothing was edited, so the server's own validation decides: the file still has its export.
    expect(r.status).toBe("passed");

    const results = toolResultsOf(lastRequestFor(title));
    expect(results).toHaveLength(calls.length);
    for (const [i, res] of results.entries()) {
      expect(res.isError, `${calls[i]![0]} ${JSON.stringify(calls[i]![1].path)}`).toBe(true);
      expect(res.content).toMatch(/^Refused: .*(not listed in the task|not under "Files to modify")/);
    }
    const attempt = await lastAttempt(id);
    expect(attempt.refused!.length).toBeGreaterThanOrEqual(30);
    expect(attempt.files_changed).toEqual([]);
    for (const p of mustNotExist()) expect(existsSync(p), p).toBe(false);
    expect(readdirSync(sibling)).toEqual([]);
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe(`${SECRET}\n`);
    expect(env.fake.requests.map((q) => q.rawBody).join("\n")).not.toContain(SECRET);
  });

  it("refuses listed paths that became symlinks after the task was created (outside, dangling, protected)", async () => {
    const title = "Planted links";
    const id = await create(
      spec(title, {
        files_to_read: [{ path: "src/notes.md" }],
        files_to_modify: [
          { path: "src/planted.ts", action: "create" },
          { path: "src/cfg.json", action: "create" },
          { path: "src/math.ts", action: "edit" },
        ],
      }),
    );
    // Between create and dispatch, the listed paths are replaced by symlinks and committed.
    removeDir(join(repo, "src/notes.md"));
    symlinkSync(join(outside, "secret.txt"), join(repo, "src/notes.md"));
    symlinkSync(join(outside, "planted-target.txt"), join(repo, "src/planted.ts"));
    symlinkSync("../.mcp.json", join(repo, "src/cfg.json"));
    git(repo, "add", "src/notes.md", "src/planted.ts", "src/cfg.json");
    git(repo, "commit", "-q", "-m", "plant symlinks");

    env.fake.setHandler(
      byTitle({
        [title]: [
          many([
            ["read_file", { path: "src/notes.md" }],
            ["write_file", { path: "src/planted.ts", content: "pwned\n" }],
            ["edit_file", { path: "src/planted.ts", old_string: "x", new_string: "pwned" }],
            ["write_file", { path: "src/cfg.json", content: '{ "mcpServers": { "evil": {} } }\n' }],
            ["edit_file", { path: "src/cfg.json", old_string: "{}", new_string: '{ "evil": {} }' }],
          ]),
          finish,
        ],
      }),
    );
    const r = await dispatch(id);
    expect(r.status).toBe("passed");
    const [read, write, edit, cfgWrite, cfgEdit] = toolResultsOf(lastRequestFor(title));
    expect(read!.content).toMatch(/^read_file failed: .*symlink .* outside the workspace/);
    expect(write!.content).toMatch(/^Refused: .*symlink .* outside the workspace/);
    expect(edit!.content).toMatch(/^Refused: .*symlink .* outside the workspace/);
    expect(cfgWrite!.content).toMatch(/^Refused: src\/cfg\.json leads to \.mcp\.json: client configuration/);
    expect(cfgEdit!.content).toMatch(/^Refused: src\/cfg\.json leads to \.mcp\.json: client configuration/);
    for (const res of [read, write, edit, cfgWrite, cfgEdit]) expect(res!.isError).toBe(true);

    expect(existsSync(join(outside, "planted-target.txt"))).toBe(false);
    expect(env.fake.requests.map((q) => q.rawBody).join("\n")).not.toContain(SECRET);
    // The task's branch carries none of it, and the server saw nothing out of scope to revert.
    expect(git(repo, "show", `delegate/${id}:.mcp.json`)).toBe(MCP_JSON);
    expect(r.out_of_scope).toBeUndefined();
    // The workspace's own .mcp.json is untouched too.
    expect(readFileSync(join(repo, ".mcp.json"), "utf8")).toBe(MCP_JSON);
  });

  it("keeps the planner's list of refused calls bounded whatever the executor sends", async () => {
    const title = "Refusal flood";
    const huge = `src/${"a".repeat(100_000)}.ts`;
    const calls: [string, Record<string, unknown>][] = Array.from({ length: 60 }, (_, i) => [
      "write_file",
      { path: i % 2 ? huge : `src/other-${i}.ts`, content: "x" },
    ]);
    const bigFinish = toolUse("finish", { status: "complete", summary: `done ${"s".repeat(2_000_000)}` });
    env.fake.setHandler(byTitle({ [title]: [many(calls), bigFinish] }));
    const id = await create(spec(title));
    await dispatch(id);
    const got = await call("get_task", { task_id: id });
    const attempt = (got.structuredContent as { attempts: Attempt[] }).attempts.at(-1)!;
    expect(attempt.refused!.length).toBeLessThanOrEqual(31);
    expect(attempt.refused!.at(-1)).toMatch(/further refused calls not listed/);
    expect(JSON.stringify(got.structuredContent).length).toBeLessThan(20_000);
  });
});

describe("protected files: the executor never writes them, and specs cannot list them", () => {
  const PROTECTED: [string, RegExp][] = [
    [".git/hooks/pre-commit", /git internals/],
    [".git/config", /git internals/],
    [".GIT/config", /git internals/],
    ["./.git/config", /git internals/],
    ["src/../.git/config", /git internals/],
    ["src/.git/x", /git internals/],
    [".gitattributes", /git attribute and module files/],
    ["src/.gitattributes", /git attribute and module files/],
    [".gitmodules", /git attribute and module files/],
    [".mcp.json", /client configuration/],
    [".claude/settings.json", /client configuration/],
    [".claude/commands/evil.md", /client configuration/],
    ["delegate.config.json", /server's configuration/],
    ["mini-projects/ledger.jsonl", /task specs and the ledger/],
    ["mini-projects/sec/01-x.json", /task specs and the ledger/],
  ];

  it.each(PROTECTED)(
    "create_mini_task listing %j in files_to_modify is a blocking lint error",
    async (path, reason) => {
      const r = await call(
        "create_mini_task",
        spec("Protected target", { files_to_modify: [{ path, action: "create" }] }),
      );
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain("files_to_modify[0].path");
      expect(textOf(r)).toMatch(reason);
    },
  );

  it("refuses the executor's writes and edits even when a (hand-edited) task lists them", async () => {
    const title = "Protected edits";
    const id = await create(spec(title));
    // Defence in depth: a stored task that lists protected files (written by hand, or by an older version).
    const file = join(repo, "mini-projects", `${id}.json`);
    const stored = JSON.parse(readFileSync(file, "utf8"));
    const targets = [
      ".git/hooks/pre-commit",
      ".git/config",
      ".gitattributes",
      ".mcp.json",
      ".claude/settings.json",
      "delegate.config.json",
      "mini-projects/ledger.jsonl",
    ];
    stored.files_to_modify.push(...targets.map((path) => ({ path, action: "create" })));
    writeFileSync(file, JSON.stringify(stored, null, 2));

    const gitConfig = readFileSync(join(repo, ".git/config"), "utf8");
    const ledgerBefore = existsSync(join(repo, "mini-projects/ledger.jsonl"))
      ? readFileSync(join(repo, "mini-projects/ledger.jsonl"), "utf8")
      : "";
    const calls: [string, Record<string, unknown>][] = [];
    for (const path of targets) {
      calls.push(["write_file", { path, content: "#!/bin/sh\ntouch /tmp/pwned\n" }]);
      calls.push([
        "edit_file",
        { path, old_string: "[core]", new_string: "[core]\n\tfsmonitor = /tmp/evil" },
      ]);
    }
    env.fake.setHandler(byTitle({ [title]: [many(calls), finish] }));
    const r = await dispatch(id);
    expect(r.status).toBe("passed");
    const results = toolResultsOf(lastRequestFor(title));
    expect(results).toHaveLength(calls.length);
    for (const [i, res] of results.entries()) {
      const path = calls[i]![1].path as string;
      expect(res.isError, path).toBe(true);
      expect(res.content, path).toMatch(
        /^Refused: .*(git internals|git attribute|client configuration|server's configuration|task specs and the ledger)/,
      );
    }
    const attempt = await lastAttempt(id);
    expect(attempt.files_changed).toEqual([]);
    expect(existsSync(join(repo, ".git/hooks/pre-commit"))).toBe(false);
    expect(readFileSync(join(repo, ".git/config"), "utf8")).toBe(gitConfig);
    const tree = git(repo, "ls-tree", "-r", "--name-only", `delegate/${id}`).split("\n");
    for (const p of [".gitattributes", ".claude/settings.json"]) expect(tree).not.toContain(p);
    expect(git(repo, "show", `delegate/${id}:.mcp.json`)).toBe(MCP_JSON);
    // The ledger only grew by whole records the server wrote itself.
    const ledger = readFileSync(join(repo, "mini-projects/ledger.jsonl"), "utf8");
    expect(ledger.startsWith(ledgerBefore)).toBe(true);
    for (const line of ledger.trim().split("\n")) expect(() => JSON.parse(line)).not.toThrow();
    expect(ledger).not.toContain("pwned");
  });
});

describe('names and paths starting with "-"', () => {
  it.each([
    ["get_task", { task_id: "-rf/01-x" }, "task_id"],
    ["get_task", { task_id: "sec/01--rf" }, "task_id"],
    ["review_task", { task_id: "--output=x/01-y" }, "task_id"],
    ["accept_task", { task_id: "-c/01-x", commit: true }, "task_id"],
    ["discard_task", { task_id: "-x/01-y" }, "task_id"],
    ["dispatch_to_small_model", { task_id: "-x/01-y" }, "task_id"],
    ["dispatch_to_small_model", { task_ids: ["sec/01-ok", "-x/01-y"] }, "task_ids[1]"],
    ["run_validation", { task_id: "-x/01-y" }, "task_id"],
    [
      "log_tokens",
      { project: "-rf", phase: "planning", model: "sonnet", input_tokens: 1, output_tokens: 1 },
      "project",
    ],
    ["savings_report", { project: "--output=x" }, "project"],
    ["list_tasks", { project: "-rf" }, "project"],
    ["create_mini_task", { ...spec("Dash project"), project: "-rf" }, "project"],
    ["create_mini_task", { ...spec("Dash dependency"), depends_on: ["-x/01-y"] }, "depends_on[0]"],
  ])("%s refuses %j, naming %s", async (tool, args, field) => {
    const r = await call(tool, args);
    expect(r.isError).toBe(true);
    expect(textOf(r).startsWith(field)).toBe(true);
    expect(existsSync(join(repo, "x"))).toBe(false);
  });

  it("a title starting with dashes gives a task id and branch that do not", async () => {
    const id = await create(spec("--output=/tmp/x --force"));
    expect(id).toMatch(/^sec\/\d{2}-output-tmp-x-force$/);
  });

  it('files named "-rf" and "--output=x" are handled as paths through dispatch, review, accept and commit', async () => {
    const title = "Dash files";
    const id = await create(
      spec(title, {
        files_to_read: [],
        files_to_modify: [
          { path: "-rf", action: "create" },
          { path: "--output=x", action: "create" },
        ],
        validation: [{ run: "test -f ./-rf && test -f ./--output=x" }],
      }),
    );
    env.fake.setHandler(
      byTitle({
        [title]: [
          many([
            ["write_file", { path: "-rf", content: "dash rf\n" }],
            ["write_file", { path: "--output=x", content: "dash output\n" }],
          ]),
          finish,
        ],
      }),
    );
    const r = await dispatch(id);
    expect(r.status).toBe("passed");
    const attempt = await lastAttempt(id);
    expect(attempt.files_changed.map((f) => f.path).sort()).toEqual(["--output=x", "-rf"]);

    const review = await call("review_task", { task_id: id });
    expect(review.isError, textOf(review)).toBeFalsy();
    const diff = (review.structuredContent as { diff: string }).diff;
    expect(diff).toContain("+++ b/-rf");
    expect(diff).toContain("+++ b/--output=x");

    const head = git(repo, "rev-parse", "HEAD").trim();
    const accepted = await call("accept_task", { task_id: id, commit: true });
    expect(accepted.isError, textOf(accepted)).toBeFalsy();
    expect(readFileSync(join(repo, "-rf"), "utf8")).toBe("dash rf\n");
    expect(readFileSync(join(repo, "--output=x"), "utf8")).toBe("dash output\n");
    // One new commit with exactly those two files; no file "x" (git's --output=x) anywhere.
    expect(git(repo, "rev-parse", "HEAD~1").trim()).toBe(head);
    expect(git(repo, "show", "--name-only", "--format=", "HEAD").trim().split("\n").sort()).toEqual([
      "--output=x",
      "-rf",
    ]);
    expect(existsSync(join(repo, "x"))).toBe(false);
    expect(existsSync(join(dirname(repo), "x"))).toBe(false);
    expect(git(repo, "status", "--porcelain", "--", ":!mini-projects")).toBe("");
  });

  // revertPaths takes every path after "--", so a leading "-" is a plain file name there.
  it('an out-of-scope file named "-junk" made by a validation command is reverted like any other', async () => {
    const title = "Dash junk";
    const id = await create(
      spec(title, {
        validation: [{ run: "touch ./-junk ./--output=y && grep -q 'export function' src/math.ts" }],
      }),
    );
    env.fake.setHandler(byTitle({ [title]: [toolUse("run_validation", {}), finish] }));
    const r = await dispatch(id);
    expect(r.out_of_scope?.sort()).toEqual(["--output=y", "-junk"]);
    expect(r.status).toBe("passed");
    const tree = git(repo, "ls-tree", "-r", "--name-only", `delegate/${id}`).split("\n");
    expect(tree).not.toContain("-junk");
    expect(tree).not.toContain("--output=y");
    expect(existsSync(join(repo, "y"))).toBe(false);
  });
});
