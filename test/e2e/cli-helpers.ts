/** Running the real Claude Code / Codex CLIs (pinned devDependencies) against the fake LLM. */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { TOOL_NAME_PREFIX } from "../../src/executor/tool-bridge.js";
import type { FakeAnswer, FakeLlm, FakeReply, FakeRequest } from "../fakes/llm-server.js";
import { PROJECT_ROOT, tempDir } from "./harness.js";

export const BIN = join(PROJECT_ROOT, "node_modules", ".bin");

/** A fresh HOME for the CLIs: no login, no settings, nothing of the machine's user. */
export function tempHome(): string {
  return tempDir("delegate-cli-home-");
}

/** The server's env for CLI executors: the pinned CLIs first on PATH, a temp HOME. */
export function cliServerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${BIN}${delimiter}${process.env.PATH ?? ""}`,
    HOME: tempHome(),
    FAKE_KEY: "test-key",
    ...extra,
  };
}

/** haiku-cli pointed at the fake, its key from FAKE_KEY; without a fake, the CLI's own login (none here). */
export function claudeCliModel(fake: FakeLlm | undefined, extra: Record<string, unknown> = {}) {
  return {
    provider: "claude-code",
    model: "claude-haiku-4-5",
    ...(fake ? { base_url: fake.anthropicBaseURL, api_key_env: "FAKE_KEY" } : {}),
    ...extra,
  };
}

/** Claude Code names our tools mcp__<server>__<tool>: the same script answers both executors. */
export const CLI_TOOL_PREFIX = TOOL_NAME_PREFIX;

export function forExecutor(reply: FakeReply, req: FakeRequest): FakeReply {
  if (!("toolCalls" in reply) || !reply.toolCalls) return reply;
  if (!req.toolNames.some((n) => n.startsWith(CLI_TOOL_PREFIX))) return reply;
  const answer: FakeAnswer = {
    ...reply,
    toolCalls: reply.toolCalls.map((c) => ({ ...c, name: `${CLI_TOOL_PREFIX}${c.name}` })),
  };
  return answer;
}

/** Ledger records of one task, as written. */
export function ledgerOf(root: string, task: string) {
  return readFileSync(join(root, "mini-projects", "ledger.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.task === task);
}

/** A stand-in `claude` for the failure cases the real one cannot be made to show offline. */
export function fakeCli(dir: string, name: string, script: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return path;
}

/** Processes still alive whose environment carries `mark` (the server itself excluded). */
export function processesMarked(mark: string): string[] {
  const alive: string[] = [];
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "latin1");
      if (!environ.includes(mark)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state === "Z" || state === "X") continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " ");
      if (cmd.includes(" --root ")) continue;
      alive.push(`${pid} ${cmd.slice(0, 120)}`);
    } catch {
      // exited while we looked, or not ours to read
    }
  }
  return alive;
}
