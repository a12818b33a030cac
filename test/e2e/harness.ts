import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll } from "vitest";

export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = join(PROJECT_ROOT, "dist", "cli.js");

export function assertBuilt(): void {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: e2e tests run the built server; run npm run build (npm test does).`);
}

/** Environment for child git and servers: no user or system git config, no inherited keys. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/_API_KEY$|_TOKEN$|_SECRET$|^ANTHROPIC_|^OPENAI_|^DELEGATE_|^GIT_|^CLAUDE_/.test(k)) continue;
    env[k] = v;
  }
  // Under vitest, whatever a child makes in the temp dir (a demo's repository kept after a failure,
  // an accept's scratch dir when the test kills it) lands in this file's own temp dir, removed with it.
  const tmp: Record<string, string> = process.env.VITEST ? { TMPDIR: childTempDir() } : {};
  return { ...env, GIT_CONFIG_NOSYSTEM: "1", DELEGATE_LOG: "warn", ...tmp, ...extra };
}

let childTmp: string | undefined;
function childTempDir(): string {
  if (!childTmp || !existsSync(childTmp)) childTmp = tempDir("delegate-e2e-tmp-");
  return childTmp;
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: cleanEnv({ HOME: cwd }),
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Temp dirs made by this test file through tempDir(): all removed when the file's tests end. */
const made = new Set<string>();
// Registered when vitest loads the file (bench/ imports this module too, outside vitest). afterAll
// runs whatever happened, so a test that fails or times out leaves nothing behind either.
// Outside vitest (the benchmarks, a script using these helpers), they go when the process exits,
// by an error too.
const removeMade = () => {
  for (const dir of made) removeDir(dir);
  made.clear();
};
if (process.env.VITEST) afterAll(removeMade);
else process.on("exit", removeMade);

/** A fresh directory under the system temp dir (its real path), removed when this test file ends. */
export function tempDir(prefix: string): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  made.add(dir);
  return dir;
}

/** A temp git repository with `files` committed, removed when this test file ends. Returns its real path. */
export function makeRepo(files: Record<string, string>, opts: { git?: boolean } = {}): string {
  const root = tempDir("delegate-e2e-");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  if (opts.git !== false) {
    git(root, "init", "-q", "-b", "main");
    git(root, "config", "user.email", "test@example.invalid");
    git(root, "config", "user.name", "Test");
    git(root, "config", "commit.gpgsign", "false");
    git(root, "add", "-A");
    git(root, "commit", "-q", "-m", "initial");
  }
  return root;
}

export function removeDir(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

export interface RunningServer {
  client: Client;
  stderr: () => string;
  close: () => Promise<void>;
  call: (name: string, args: Record<string, unknown>) => Promise<CallToolResult>;
}

/** Start dist/cli.js over stdio with the SDK's client, as Claude Code would. */
export async function startServer(opts: {
  root: string;
  env?: Record<string, string>;
  args?: string[];
}): Promise<RunningServer> {
  assertBuilt();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, "--root", opts.root, ...(opts.args ?? [])],
    env: cleanEnv({ HOME: opts.root, ...(opts.env ?? {}) }),
    cwd: opts.root,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const client = new Client({ name: "delegate-e2e", version: "1.0.0" });
  await client.connect(transport);
  // listTools primes the client's outputSchema validators: every later structuredContent is checked against it.
  await client.listTools();
  return {
    client,
    stderr: () => stderr,
    close: () => client.close(),
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
  };
}

export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `check` until it returns a value (not undefined) or `ms` pass. */
export async function waitFor<T>(what: string, check: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Resolves when `check` holds; the test's own timeout bounds the wait. */
export async function until(check: () => boolean): Promise<void> {
  while (!check()) await sleep(20);
}

/** The headers a Streamable HTTP client posts with. */
export const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** The JSON-RPC initialize request (id 1) a raw HTTP client called `name` opens its session with. */
export function initializeRequest(name: string, version = "1.0.0") {
  return {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name, version },
    },
  };
}

/** A `delegate-mcp serve --http` process. */
export interface HttpServer {
  url: string;
  port: number;
  proc: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: () => Promise<void>;
}

/** Every process spawnCli started: a test that times out never reaches its own cleanup. */
const spawned = new Set<ChildProcess>();

/** SIGKILL whatever spawnCli started that is still running; a file's afterAll, so no server outlives it. */
export function killSpawned(): void {
  for (const proc of spawned) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
}

/** dist/cli.js with `args` in `root`, its stdout and stderr collected. */
export function spawnCli(args: string[], root: string, env: Record<string, string>) {
  assertBuilt();
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd: root,
    env: cleanEnv({ HOME: root, ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  spawned.add(proc);
  let stderr = "";
  let stdout = "";
  proc.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  proc.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { proc, stderr: () => stderr, stdout: () => stdout, exited };
}

/** `delegate-mcp serve --http --port 0`, resolved once it prints the URL it serves at. */
export async function startHttp(root: string, env: Record<string, string> = {}): Promise<HttpServer> {
  const { proc, stderr, exited } = spawnCli(["serve", "--http", "--port", "0", "--root", root], root, env);
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const m = /delegate-mcp: serving MCP at (http:\/\/\S+)/.exec(stderr());
      if (m) {
        proc.stderr!.off("data", onData);
        resolve(m[1]!);
      }
    };
    proc.stderr!.on("data", onData);
    void exited.then(({ code }) => reject(new Error(`server exited (${code}) before serving:\n${stderr()}`)));
  });
  return {
    url,
    port: Number(new URL(url).port),
    proc,
    stderr,
    exited,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exited;
    },
  };
}
