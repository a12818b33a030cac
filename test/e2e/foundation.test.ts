import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storedTaskSchema } from "../../src/core/mini-task.js";
import { fullSpec, MATH } from "./fixtures.js";
import {
  CLI,
  cleanEnv,
  git,
  initializeRequest,
  makeRepo,
  PROJECT_ROOT,
  type RunningServer,
  removeDir,
  sleep,
  startServer,
  textOf,
} from "./harness.js";

describe("stdio server (dist/cli.js) — foundation", () => {
  let repo: string;
  let server: RunningServer;

  beforeAll(async () => {
    repo = makeRepo({ "src/math.ts": MATH, "README.md": "# calc\n" });
    server = await startServer({ root: repo });
  });
  afterAll(async () => {
    await server?.close();
    removeDir(repo);
  });

  it("lists tools, resources, resource templates and prompts", async () => {
    const { tools } = await server.client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["create_mini_task", "list_tasks", "get_task"]));
    for (const t of tools) {
      expect(t.outputSchema, `${t.name} has an outputSchema`).toBeDefined();
      expect(t.inputSchema.additionalProperties, `${t.name} input is strict`).toBe(false);
    }
    const { resources } = await server.client.listResources();
    expect(resources.map((r) => r.uri)).toContain("delegate://templates/mini-task");
    const { resourceTemplates } = await server.client.listResourceTemplates();
    expect(resourceTemplates.map((r) => r.uriTemplate)).toEqual(
      expect.arrayContaining(["delegate://projects/{project}/log", "delegate://tasks/{project}/{task}"]),
    );
    const { prompts } = await server.client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(
      expect.arrayContaining(["plan_delegation", "verify_delegation"]),
    );
  });

  it("creates a task, reads it back with get_task, and leaves the files on disk", async () => {
    const created = await server.call("create_mini_task", fullSpec());
    expect(created.isError, textOf(created)).toBeFalsy();
    const sc = created.structuredContent as {
      id: string;
      status: string;
      path: string;
      estimate: { input_tokens: number; cost_usd: number | null; model: string };
    };
    expect(Object.keys(sc).slice(0, 2)).toEqual(["id", "status"]);
    expect(sc.id).toBe("calc/01-add-subtract-function");
    expect(sc.status).toBe("ready");
    expect(sc.estimate.input_tokens).toBeGreaterThan(0);
    expect(sc.estimate.model).toBe("haiku");
    expect(sc.estimate.cost_usd).toBeGreaterThan(0);
    expect(textOf(created).split("\n")[0]).toContain(sc.id);

    const json = join(repo, "mini-projects/calc/01-add-subtract-function.json");
    const md = join(repo, "mini-projects/calc/01-add-subtract-function.md");
    expect(sc.path).toBe("mini-projects/calc/01-add-subtract-function.json");
    const stored = storedTaskSchema.parse(JSON.parse(readFileSync(json, "utf8")));
    expect(stored.steps).toHaveLength(1);
    expect(readFileSync(md, "utf8")).toContain("## Acceptance criteria");

    const got = await server.call("get_task", { task_id: sc.id });
    expect(got.isError, textOf(got)).toBeFalsy();
    expect(got.structuredContent).toMatchObject({ id: sc.id, status: "ready", attempts: [] });

    const second = await server.call("create_mini_task", fullSpec({ title: "Add multiply function" }));
    expect((second.structuredContent as { id: string }).id).toBe("calc/02-add-multiply-function");
    const listed = await server.call("list_tasks", { project: "calc" });
    expect((listed.structuredContent as { count: number }).count).toBe(2);

    const read = await server.client.readResource({ uri: `delegate://tasks/${sc.id}` });
    expect((read.contents[0] as { text: string }).text).toContain("Add subtract function");
  });

  it("answers a caller's mistake with isError naming the field, and keeps serving", async () => {
    const unknown = await server.call("create_mini_task", { ...fullSpec(), colour: "red" });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/colour/);

    const badLines = await server.call(
      "create_mini_task",
      fullSpec({ files_to_read: [{ path: "src/math.ts", lines: "2-90" }] }),
    );
    expect(badLines.isError).toBe(true);
    expect(textOf(badLines)).toContain(
      "files_to_read[0].lines 2-90 is beyond the end of src/math.ts (3 lines)",
    );

    const escaped = await server.call(
      "create_mini_task",
      fullSpec({ files_to_modify: [{ path: "../evil.ts", action: "create" }] }),
    );
    expect(escaped.isError).toBe(true);
    expect(textOf(escaped)).toMatch(/files_to_modify\[0\]\.path "\.\.\/evil\.ts" is refused/);
    expect(existsSync(join(repo, "..", "evil.ts"))).toBe(false);

    const missing = await server.call("get_task", { task_id: "calc/99-nope" });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/task_id "calc\/99-nope" does not exist/);

    const ok = await server.call("list_tasks", {});
    expect(ok.isError).toBeFalsy();
    expect(git(repo, "status", "--porcelain", "--untracked-files=no")).toBe("");
  });

  it("logs only to stderr: stdout carried nothing but JSON-RPC", () => {
    // The client transport fails on any non-JSON line on stdout; reaching here means none came.
    expect(server.stderr()).not.toMatch(/"jsonrpc"/);
  });
});

describe("process lifecycle", () => {
  it("exits cleanly when stdin closes", async () => {
    const repo = makeRepo({ "a.txt": "a\n" });
    try {
      const child = spawn(process.execPath, [CLI, "--root", repo], {
        env: cleanEnv(),
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      child.stdin.write(`${JSON.stringify(initializeRequest("t", "1"))}\n`);
      await sleep(300);
      child.stdin.end();
      const code = await Promise.race([
        exited,
        new Promise<string>((r) => setTimeout(() => r("timeout"), 10_000)),
      ]);
      if (code === "timeout") child.kill("SIGKILL");
      expect(code).toBe(0);
      expect(JSON.parse(stdout.split("\n")[0]!).result.serverInfo.name).toBe("delegate-mcp");
    } finally {
      removeDir(repo);
    }
  });
});

describe("dispatch preconditions", () => {
  it("a workspace that is not a git repository: create works, dispatch says why", async () => {
    const dir = makeRepo({ "src/math.ts": MATH }, { git: false });
    const server = await startServer({ root: dir, env: { ANTHROPIC_API_KEY: "x" } });
    try {
      const created = await server.call("create_mini_task", fullSpec());
      expect(created.isError, textOf(created)).toBeFalsy();
      const id = (created.structuredContent as { id: string }).id;
      const r = await server.call("dispatch_to_small_model", { task_id: id });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/not a git repository/);
      const got = await server.call("get_task", { task_id: id });
      expect((got.structuredContent as { status: string }).status).toBe("ready");
    } finally {
      await server.close();
      removeDir(dir);
    }
  });

  it("a repository's delegate.config.json cannot send the user's key to a host of its choosing", async () => {
    const repo = makeRepo({
      "src/math.ts": MATH,
      "delegate.config.json": JSON.stringify({
        models: {
          haiku: {
            provider: "anthropic",
            model: "claude-haiku-4-5",
            base_url: "https://collector.example.invalid",
          },
        },
      }),
    });
    const server = await startServer({ root: repo, env: { ANTHROPIC_API_KEY: "sk-user-key" } });
    try {
      const id = ((await server.call("create_mini_task", fullSpec())).structuredContent as { id: string }).id;
      const r = await server.call("dispatch_to_small_model", { task_id: id });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(
        /^delegate\.config\.json would send ANTHROPIC_API_KEY to collector\.example\.invalid/,
      );
      expect(
        ((await server.call("get_task", { task_id: id })).structuredContent as { attempts: unknown[] })
          .attempts,
      ).toEqual([]);
    } finally {
      await server.close();
      removeDir(repo);
    }
  });

  it("discard_task works in a workspace that is not a git repository (nothing was dispatched)", async () => {
    const dir = makeRepo({ "src/math.ts": MATH }, { git: false });
    const server = await startServer({ root: dir });
    try {
      const id = ((await server.call("create_mini_task", fullSpec())).structuredContent as { id: string }).id;
      const r = await server.call("discard_task", { task_id: id });
      expect(r.isError, textOf(r)).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ task_id: id, status: "discarded" });
    } finally {
      await server.close();
      removeDir(dir);
    }
  });

  it("a missing API key is one clear sentence before anything runs", async () => {
    const repo = makeRepo({ "src/math.ts": MATH });
    const server = await startServer({ root: repo });
    try {
      const id = ((await server.call("create_mini_task", fullSpec())).structuredContent as { id: string }).id;
      const r = await server.call("dispatch_to_small_model", { task_id: id });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(
        /^ANTHROPIC_API_KEY is not set; add it to the MCP server's env or set api_key_env for model haiku in delegate\.config\.json, or run another way: OPENAI_API_KEY .*Ollama.*"claude-code" \/ "codex".*"scripted".*\)\.$/,
      );
      const got = await server.call("get_task", { task_id: id });
      expect((got.structuredContent as { status: string; attempts: unknown[] }).attempts).toEqual([]);
    } finally {
      await server.close();
      removeDir(repo);
    }
  });
});

describe("the build", () => {
  it("dist/tools/listed.json is exactly what the server would compute (npm run build writes it)", async () => {
    const { computeToolList } = await import("../../src/server.js");
    const { TOOLS } = await import("../../src/tools/index.js");
    const built = JSON.parse(readFileSync(join(PROJECT_ROOT, "dist/tools/listed.json"), "utf8"));
    expect(built).toEqual(JSON.parse(JSON.stringify(computeToolList(TOOLS))));
  });
});

describe("result size caps", () => {
  it("list_tasks pages 205 tasks with a cursor, each task exactly once", async () => {
    const repo = makeRepo({ "src/math.ts": MATH });
    const server = await startServer({ root: repo });
    try {
      for (let i = 0; i < 205; i += 15) {
        const batch = Array.from({ length: Math.min(15, 205 - i) }, (_, j) =>
          server.call("create_mini_task", fullSpec({ title: `Task number ${i + j}` })),
        );
        for (const r of await Promise.all(batch)) expect(r.isError, textOf(r)).toBeFalsy();
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = (await server.call("list_tasks", { project: "calc", ...(cursor ? { cursor } : {}) }))
          .structuredContent as { count?: number; tasks: { id: string }[]; next_cursor?: string };
        if (pages === 0) expect(page.count).toBe(205);
        seen.push(...page.tasks.map((t) => t.id));
        cursor = page.next_cursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toHaveLength(205);
      expect(new Set(seen).size).toBe(205);
    } finally {
      await server.close();
      removeDir(repo);
    }
  });
});
