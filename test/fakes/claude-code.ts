/**
 * Runs the real Claude Code CLI (the pinned devDependency) headless and offline: a temporary HOME
 * and config dir, session persistence on, the model API at a fake LLM on 127.0.0.1, MCP servers
 * only from the given config, telemetry, updates and other nonessential traffic off. Any attempt
 * to reach another host goes to a refusing proxy on 127.0.0.1 and is listed in `blockedHosts`, so a
 * test passes the same with or without a network.
 *
 *   const llm = await startFakeLlm({ handler: plannerScript([...]) });
 *   const run = await runClaudeCode({ cwd: repo, prompt: "go", baseURL: llm.url,
 *     mcpServers: { delegate: { command: process.execPath, args: [CLI, "--root", repo] } } });
 *   run.transcriptPath; run.result; run.blockedHosts; await run.cleanup();
 *
 * Node built-ins only.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The pinned `claude` binary. */
export const CLAUDE_BIN = fileURLToPath(new URL("../../node_modules/.bin/claude", import.meta.url));

export interface McpServerSpec {
  command: string;
  args?: string[];
  env?: Record<string, string>;
}

export interface ClaudeCodeOptions {
  /** The project directory Claude Code runs in (it becomes CLAUDE_PROJECT_DIR for MCP servers). */
  cwd: string;
  prompt: string;
  /** ANTHROPIC_BASE_URL: the fake LLM's URL. */
  baseURL: string;
  mcpServers?: Record<string, McpServerSpec>;
  /** Default: a fresh UUID. */
  sessionId?: string;
  /** Default: claude-sonnet-4-5. */
  model?: string;
  /** Tools allowed without a prompt; default every tool of the MCP servers given. */
  allowedTools?: string[];
  /** Extra CLI arguments. */
  args?: string[];
  /** Extra environment (wins over the defaults). */
  env?: Record<string, string>;
  /** Reuse a HOME (to resume a session); default a new temporary one, removed by cleanup(). */
  home?: string;
  /** Kill the CLI after this long (ms); default 120 s. A kill is reported, not hidden. */
  timeoutMs?: number;
}

export interface ClaudeCodeRun {
  exitCode: number | null;
  /** Set when the CLI had to be killed. */
  killed: boolean;
  stdout: string;
  stderr: string;
  /** `--output-format json`'s result object, or null when stdout was not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: Claude Code's own result shape, asserted on freely
  result: any;
  sessionId: string;
  home: string;
  /** CLAUDE_CONFIG_DIR given to the CLI. */
  configDir: string;
  /** Where Claude Code keeps the session's transcript. */
  transcriptPath: string;
  /** Request lines (`CONNECT host:443 …`) the refusing proxy saw: traffic that would have left the machine. */
  blockedHosts: string[];
  /** The environment the CLI ran with (for running other commands "inside" the same session). */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** Environment that keeps Claude Code from phoning home (all documented switches). */
export const OFFLINE_ENV: Record<string, string> = {
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
  DISABLE_AUTOUPDATER: "1",
  DISABLE_TELEMETRY: "1",
  DISABLE_ERROR_REPORTING: "1",
  DISABLE_BUG_COMMAND: "1",
  CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: "1",
  CLAUDE_CODE_DISABLE_TERMINAL_TITLE: "1",
};

/** Claude Code's folder name for a project directory. */
export function claudeProjectSlug(dir: string): string {
  return dir.replace(/[^A-Za-z0-9]/g, "-");
}

/** A proxy on 127.0.0.1 that refuses everything and notes what was asked for. */
async function startRefusingProxy(): Promise<{ url: string; seen: string[]; server: Server }> {
  const seen: string[] = [];
  const server = createServer((socket) => {
    socket.once("data", (d) => {
      seen.push(d.toString("latin1").split("\r\n")[0] ?? "");
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, seen, server };
}

/** The inherited variables that must not reach the CLI (keys, a real session's ids, proxies). */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/_API_KEY$|_TOKEN$|_SECRET$|^ANTHROPIC_|^OPENAI_|^CLAUDE|^DELEGATE_|_PROXY$|_proxy$/.test(k))
      continue;
    env[k] = v;
  }
  return env;
}

export async function runClaudeCode(opts: ClaudeCodeOptions): Promise<ClaudeCodeRun> {
  const ownHome = opts.home === undefined;
  const home = opts.home ?? realpathSync(mkdtempSync(join(tmpdir(), "claude-home-")));
  const configDir = join(home, ".claude");
  mkdirSync(configDir, { recursive: true });
  const sessionId = opts.sessionId ?? randomUUID();
  const proxy = await startRefusingProxy();
  const mcpConfig = join(home, `mcp-${sessionId}.json`);
  writeFileSync(mcpConfig, JSON.stringify({ mcpServers: opts.mcpServers ?? {} }));
  const env: Record<string, string> = {
    ...baseEnv(),
    HOME: home,
    CLAUDE_CONFIG_DIR: configDir,
    ANTHROPIC_BASE_URL: opts.baseURL,
    ANTHROPIC_API_KEY: "sk-ant-fake-key-for-tests",
    HTTPS_PROXY: proxy.url,
    HTTP_PROXY: proxy.url,
    https_proxy: proxy.url,
    http_proxy: proxy.url,
    NO_PROXY: "127.0.0.1,localhost",
    no_proxy: "127.0.0.1,localhost",
    ...OFFLINE_ENV,
    ...(opts.env ?? {}),
  };
  const allowed = opts.allowedTools ?? Object.keys(opts.mcpServers ?? {}).map((name) => `mcp__${name}`);
  // The prompt first: variadic options (--allowedTools, --mcp-config) would take it as theirs.
  const args = [
    "-p",
    opts.prompt,
    "--output-format",
    "json",
    "--model",
    opts.model ?? "claude-sonnet-4-5",
    "--session-id",
    sessionId,
    "--mcp-config",
    mcpConfig,
    "--strict-mcp-config",
    ...(allowed.length ? [`--allowedTools=${allowed.join(",")}`] : []),
    ...(opts.args ?? []),
  ];
  const child = spawn(CLAUDE_BIN, args, { cwd: opts.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString("utf8");
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString("utf8");
  });
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, opts.timeoutMs ?? 120_000);
  const exitCode = await new Promise<number | null>((resolve) => {
    child.on("error", (err) => {
      stderr += String(err);
      resolve(null);
    });
    child.on("close", (code) => resolve(code));
  });
  clearTimeout(timer);
  await new Promise<void>((resolve) => proxy.server.close(() => resolve()));
  let result: unknown = null;
  try {
    result = JSON.parse(stdout);
  } catch {
    result = null;
  }
  const transcriptPath = join(configDir, "projects", claudeProjectSlug(opts.cwd), `${sessionId}.jsonl`);
  return {
    exitCode,
    killed,
    stdout,
    stderr,
    result,
    sessionId,
    home,
    configDir,
    transcriptPath,
    blockedHosts: proxy.seen,
    env,
    async cleanup() {
      if (ownHome && existsSync(home)) rmSync(home, { recursive: true, force: true });
    },
  };
}
