import { execFile } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { countTokens } from "../../src/core/token-count.js";
import { assertBuilt, CLI, cleanEnv, makeRepo, removeDir } from "./harness.js";

let ollama: Server;
let ollamaUrl: string;
/** A PATH holding only a fake `claude` (init looks for the CLI, it does not run it). */
let binWithClaude: string;
let emptyBin: string;
const dirs: string[] = [];

beforeAll(async () => {
  assertBuilt();
  // A stand-in for Ollama on 127.0.0.1: init only asks it for its model list.
  ollama = createServer((req, res) => {
    if (req.url === "/api/tags") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ models: [{ name: "llama3.2:3b" }, { name: "qwen2.5-coder:7b" }] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => ollama.listen(0, "127.0.0.1", r));
  ollamaUrl = `http://127.0.0.1:${(ollama.address() as AddressInfo).port}`;
  binWithClaude = makeRepo({ claude: "#!/bin/sh\nexit 0\n" }, { git: false });
  chmodSync(join(binWithClaude, "claude"), 0o755);
  emptyBin = makeRepo({}, { git: false });
  dirs.push(binWithClaude, emptyBin);
});
afterAll(async () => {
  await new Promise((r) => ollama.close(r));
  for (const d of dirs) removeDir(d);
});

/** Runs `delegate-mcp init` asynchronously (the fake Ollama answers from this process). */
async function init(cwd: string, args: string[] = [], env: Record<string, string> = {}) {
  const base = cleanEnv({ PATH: emptyBin, DELEGATE_OLLAMA_URL: "http://127.0.0.1:9/", ...env });
  return promisify(execFile)(process.execPath, [CLI, "init", ...args], {
    cwd,
    env: base,
    encoding: "utf8",
    timeout: 60_000,
  }).then(
    (r) => ({ status: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      status: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
}

function repo(files: Record<string, string> = {}, opts: { git?: boolean } = {}): string {
  const dir = makeRepo({ "src/a.ts": "export const a = 1;\n", ...files }, opts);
  dirs.push(dir);
  return dir;
}

const read = (dir: string, path: string) => readFileSync(join(dir, path), "utf8");

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of [".mcp.json", "CLAUDE.md", ".claude/commands/delegate.md", "delegate.config.json"])
    if (existsSync(join(dir, p))) out[p] = read(dir, p);
  return out;
}

describe("delegate-mcp init", { timeout: 120_000 }, () => {
  it("wires a fresh repository: .mcp.json, CLAUDE.md, /delegate, a config for the models it finds", async () => {
    const dir = repo();
    const run = await init(dir, [], { PATH: binWithClaude, DELEGATE_OLLAMA_URL: ollamaUrl });
    expect(run.status, run.stderr).toBe(0);

    const mcp = JSON.parse(read(dir, ".mcp.json"));
    expect(mcp.mcpServers.delegate).toEqual({ command: "node", args: [CLI] });
    expect(JSON.stringify(mcp)).not.toContain("--root"); // Claude Code sends its project as the root

    const claudeMd = read(dir, "CLAUDE.md");
    expect(claudeMd).toMatch(/^<!-- delegate-mcp:begin .*-->\n## Delegating to a small model/);
    expect(claudeMd).toContain('dispatch_to_small_model {specs: [...], accept: "on_pass"}');
    expect(read(dir, ".claude/commands/delegate.md")).toContain("$ARGUMENTS");

    const config = parseConfig(read(dir, "delegate.config.json"), "delegate.config.json");
    expect(config.defaults).toEqual({ executor: "local", planner: "sonnet" });
    expect(config.models?.local).toEqual({
      provider: "openai-compatible",
      model: "qwen2.5-coder:7b",
      base_url: `${ollamaUrl}/v1`,
      price: { input_per_mtok: 0, output_per_mtok: 0 },
    });
    expect(run.stdout).toMatch(
      /delegate\.config\.json\s+create: executor local \(Ollama answers at .* with qwen2\.5-coder:7b\); also usable: haiku-cli/,
    );

    // The printed cost per planner turn is the block's own count.
    const tokens = Number(/\+(\d+) tokens for the CLAUDE\.md block/.exec(run.stdout)?.[1]);
    expect(tokens).toBe(await countTokens(claudeMd, "anthropic"));
    expect(tokens).toBeLessThan(400);
    expect(run.stdout).toMatch(/and \d+ for the delegate tool definitions/);
    expect(run.stdout).not.toContain("not a git repository");
  });

  it("a second run changes nothing", async () => {
    const dir = repo();
    expect((await init(dir)).status).toBe(0);
    const first = snapshot(dir);
    expect(Object.keys(first)).toHaveLength(4);
    const again = await init(dir);
    expect(again.status, again.stderr).toBe(0);
    expect(snapshot(dir)).toEqual(first);
    expect(again.stdout).toMatch(/\.mcp\.json\s+unchanged: server "delegate" is already registered/);
    expect(again.stdout).toMatch(/CLAUDE\.md\s+unchanged: the delegation block is up to date/);
    expect(again.stdout).toMatch(/delegate\.config\.json\s+kept: kept as it is/);
  });

  it("keeps and amends an existing CLAUDE.md and .mcp.json, and never touches an existing config", async () => {
    const ownMd = "# My project\n\nUse pnpm. Never edit generated/.\n";
    const ownMcp = { mcpServers: { other: { command: "other-server", args: ["--x"] } }, extra: true };
    const ownConfig = '{ "defaults": { "executor": "gpt-4o-mini" } }\n';
    const dir = repo({
      "CLAUDE.md": ownMd,
      ".mcp.json": JSON.stringify(ownMcp),
      "delegate.config.json": ownConfig,
    });
    const run = await init(dir, [], { ANTHROPIC_API_KEY: "sk-test-not-real" });
    expect(run.status, run.stderr).toBe(0);
    const md = read(dir, "CLAUDE.md");
    expect(md.startsWith(`${ownMd}\n<!-- delegate-mcp:begin`)).toBe(true);
    const mcp = JSON.parse(read(dir, ".mcp.json"));
    expect(mcp.extra).toBe(true);
    expect(mcp.mcpServers.other).toEqual(ownMcp.mcpServers.other);
    expect(mcp.mcpServers.delegate).toEqual({
      command: "node",
      args: [CLI],
      env: { ANTHROPIC_API_KEY: `\${ANTHROPIC_API_KEY}` },
    });
    expect(read(dir, ".mcp.json")).not.toContain("sk-test-not-real");
    expect(read(dir, "delegate.config.json")).toBe(ownConfig);

    // The user edits around the block later; a refresh keeps their text and the block's place.
    writeFileSync(join(dir, "CLAUDE.md"), `${md}\n## Later notes\nKeep tests green.\n`);
    const before = read(dir, "CLAUDE.md");
    expect((await init(dir)).stdout).toMatch(/CLAUDE\.md\s+unchanged/);
    expect(read(dir, "CLAUDE.md")).toBe(before);
  });

  it("--dry-run shows what it would write and writes nothing", async () => {
    const dir = repo({ "CLAUDE.md": "# Mine\n" });
    const run = await init(dir, ["--dry-run"], { OPENAI_API_KEY: "sk-test" });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^delegate-mcp init --dry-run \(nothing is written\)/);
    expect(run.stdout).toMatch(/\.mcp\.json\s+would create: registers server "delegate"/);
    expect(run.stdout).toMatch(/CLAUDE\.md\s+would amend: appends the delegation block/);
    expect(run.stdout).toMatch(
      /--- delegate\.config\.json \(new file\) ---\n\{\n {2}"defaults": \{\n {4}"executor": "gpt-4o-mini"/,
    );
    expect(readdirSync(dir).sort()).toEqual([".git", "CLAUDE.md", "src"]);
    expect(read(dir, "CLAUDE.md")).toBe("# Mine\n");
  });

  it("works in a directory that is not a git repository, and says dispatch needs one", async () => {
    const dir = repo({}, { git: false });
    const run = await init(dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      `Note: ${dir} is not a git repository; dispatch needs one (git init && git commit)`,
    );
    // Nothing found (no key, no CLI, no Ollama): the keyless try-out.
    expect(JSON.parse(read(dir, "delegate.config.json")).defaults.executor).toBe("scripted");
    expect(run.stdout).toMatch(
      /executor scripted \(no key, CLI or Ollama found: the scripted executor, not a model/,
    );
  });

  it("stops before writing anything when .mcp.json is broken", async () => {
    const dir = repo({ ".mcp.json": "{ not json" });
    const run = await init(dir);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /^delegate-mcp: \.mcp\.json is not valid JSON \(.*\); fix it, then run delegate-mcp init again \(nothing was written\)\.\n$/,
    );
    expect(existsSync(join(dir, "CLAUDE.md"))).toBe(false);
    expect(existsSync(join(dir, "delegate.config.json"))).toBe(false);
  });
});
