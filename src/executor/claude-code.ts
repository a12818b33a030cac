/**
 * The `claude-code` executor: the user's own Claude Code, headless (`claude -p`), in the attempt's
 * worktree, with its built-in tools off, our executor system prompt instead of its own, and our
 * five executor tools as its only tools (served by tool-bridge.ts and transports/executor-tools.ts). Usage per
 * request from its stream-json events into the ledger; the server still checks scope and runs
 * validation afterwards, as for every executor.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ResolvedModel } from "../config/models.js";
import { CliUsageTracker, parseClaudeLine } from "../core/cli-events.js";
import { EXECUTOR_TOOLS } from "../core/executor-tools.js";
import { costOf, type Price } from "../core/pricing.js";
import type { Usage } from "../core/usage.js";
import { checkCli, olderThan, parseVersion } from "./cli-check.js";
import { cliEnv } from "./cli-env.js";
import { type CliVerdict, cliOutcome, clip, serverVerdict } from "./cli-outcome.js";
import { type CliProcess, startCli } from "./cli-process.js";
import type { LoopOutcome, LoopStatus } from "./loop.js";
import type { ExecutorTools } from "./scope.js";
import { openToolBridge, TOOL_NAME_PREFIX, TOOL_SERVER_NAME } from "./tool-bridge.js";

/** Claude Code's first version with `--bare`; older ones refuse the flag. */
const BARE_SINCE = "2.1.81";

/** Linux refuses a single argument over 128 KiB; the prompt goes as one. */
const MAX_PROMPT_BYTES = 120 * 1024;

export interface CliExecutorOptions {
  model: ResolvedModel;
  price: Price | null;
  system: string;
  user: string;
  tools: ExecutorTools;
  /** The workspace inside the attempt's worktree. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The spec's validation commands (codex runs them itself; claude-code calls run_validation). */
  validationCommands?: string[];
  maxTurns: number;
  maxFixRounds: number;
  budgetUsd?: number | undefined;
  /** The CLI is stopped when it sends nothing for this long outside a tool call. */
  requestTimeoutMs: number;
  /** The longest a tool call (a validation run) may take. */
  toolTimeoutMs: number;
  signal: AbortSignal;
  /** Each request's usage as soon as the CLI reports it, for the ledger; `note` says how it was measured. */
  onCall?: (usage: Usage, note?: string) => Promise<void> | void;
  onTurn?: (turn: number, maxTurns: number) => void;
  /** How to start `delegate-mcp executor-tools`; default this package's dist/cli.js under this node. */
  toolServer?: { command: string; args: string[] };
}

/** `node <package>/dist/cli.js`, from src/ (tests) as from dist/ (installed). */
export function defaultToolServer(): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [fileURLToPath(new URL("../../dist/cli.js", import.meta.url))],
  };
}

export const CLAUDE_AUTH_FIX = "run `claude` once to log in";

function authError(model: ResolvedModel, detail: string): string {
  const keyFix = model.cli?.apiKeyConfigured
    ? `check ${model.apiKeyEnv}`
    : `or set api_key_env for model ${model.alias} in delegate.config.json`;
  return `Claude Code could not authenticate (${clip(detail, 120)}); ${CLAUDE_AUTH_FIX}, ${keyFix}.`;
}

export function claudeArgs(o: {
  model: string;
  user: string;
  system: string;
  maxTurns: number;
  budgetUsd?: number | undefined;
  mcpConfig: string;
  /**
   * `--bare`, when the model's own API key is configured: that key is then the CLI's only login
   * (bare mode never reads the user's sign-in, so without a key it would not authenticate), and
   * each request carries no environment, model or date reminders (about 500 tokens: the worktree's
   * path, git-stash and download advice meant for a shell the executor does not have). Bare mode
   * also skips settings-file hooks, plugins, LSP and CLAUDE.md; managed policy still applies.
   */
  bare?: boolean;
}): string[] {
  return [
    "-p",
    o.user,
    "--model",
    o.model,
    "--output-format",
    "stream-json",
    "--verbose",
    // The finish call's answer takes one more request: room for it beyond the loop's max_turns.
    "--max-turns",
    String(o.maxTurns + 1),
    "--no-session-persistence",
    "--system-prompt",
    o.system,
    "--tools",
    "",
    "--strict-mcp-config",
    "--mcp-config",
    o.mcpConfig,
    "--allowedTools",
    EXECUTOR_TOOLS.map((t) => `${TOOL_NAME_PREFIX}${t.name}`).join(","),
    // The worktree's own .claude/settings.json (hooks) and skills are the repository's, not the user's.
    "--setting-sources",
    "user",
    "--disable-slash-commands",
    ...(o.bare ? ["--bare"] : []),
    ...(o.budgetUsd !== undefined ? ["--max-budget-usd", String(o.budgetUsd)] : []),
  ];
}

export async function runClaudeCode(opts: CliExecutorOptions): Promise<LoopOutcome> {
  const tracker = new CliUsageTracker();
  const outcome = (v: CliVerdict) =>
    cliOutcome(opts.tools, v, { turns: tracker.turns, usage: tracker.total, price: opts.price });
  if (Buffer.byteLength(opts.user) > MAX_PROMPT_BYTES) {
    return outcome({
      status: "error",
      error: `the task's prompt is over ${MAX_PROMPT_BYTES / 1024} KiB, more than a CLI argument can carry; narrow files_to_read or split the task.`,
    });
  }
  let stopStatus: LoopStatus | undefined;
  let run: CliProcess | undefined;
  const stop = (reason: string, status: LoopStatus): string => {
    stopStatus ??= status;
    run?.stop(reason);
    return reason;
  };
  const bridge = await openToolBridge(opts.tools, {
    onCallStart: () => run?.watchdog.pause(),
    onCallEnd: () => {
      run?.watchdog.resume();
      const failed = opts.tools.validations.filter((v) => !v.passed).length;
      if (!opts.tools.finished && failed > opts.maxFixRounds)
        stop("validation failed and max_fix_rounds allows no more fixes.", "validation_failed");
    },
  });
  const pending: Promise<void>[] = [];
  const record = (usage: Usage, note?: string) => {
    const p = opts.onCall?.(usage, note);
    if (p) pending.push(p);
  };
  try {
    const server = opts.toolServer ?? defaultToolServer();
    const mcpConfig = join(bridge.dir, "mcp.json");
    await writeFile(
      mcpConfig,
      JSON.stringify({
        mcpServers: {
          [TOOL_SERVER_NAME]: {
            type: "stdio",
            command: server.command,
            args: [...server.args, "executor-tools", "--attempt", bridge.attemptFile],
            env: {},
          },
        },
      }),
      { mode: 0o600 },
    );
    const env = cliEnv(opts.model, opts.env, { toolTimeoutMs: opts.toolTimeoutMs });
    env.CLAUDE_CODE_DISABLE_CLAUDE_MDS = "1";
    env.CLAUDE_CODE_DISABLE_AUTO_MEMORY = "1";
    // No per-turn reminders (the token-budget countdown and the like): the task is the whole context.
    env.CLAUDE_CODE_DISABLE_ATTACHMENTS = "1";
    // Claude Code turns extended thinking on by default (a 31,999-token budget, billed as output).
    // The executor follows a precise spec, as the API executor does without thinking: off.
    env.MAX_THINKING_TOKENS = "0";
    // cliEnv drops every inherited ANTHROPIC_*: a key here is the model's configured one. The
    // version was checked before the dispatch (cached); a CLI too old for --bare runs as before.
    const version = parseVersion(await checkCli(opts.model, opts.env).catch(() => ""));
    const bare = env.ANTHROPIC_API_KEY !== undefined && version !== null && !olderThan(version, BARE_SINCE);
    let resultSeen: { subtype: string; isError: boolean; text: string; status: number | null } | undefined;
    let lastText = "";
    run = startCli({
      command: opts.model.cli!.command,
      args: claudeArgs({
        model: opts.model.model,
        user: opts.user,
        system: opts.system,
        maxTurns: opts.maxTurns,
        budgetUsd: opts.budgetUsd,
        mcpConfig,
        bare,
      }),
      // Not the worktree: every file operation goes through the tool server, bound to the attempt
      // (not to a directory). Started in the worktree, Claude Code tells the model on every request
      // that it is in a git worktree and how to use git stash there (~190 tokens under a login), and
      // the repository's own .claude directory would be its project's (--setting-sources user
      // already keeps its settings and hooks out; this is the second guard).
      cwd: bridge.dir,
      env,
      signal: opts.signal,
      idleTimeoutMs: opts.requestTimeoutMs,
      onLine: (line) => {
        const e = parseClaudeLine(line);
        if (!e) return undefined;
        switch (e.kind) {
          case "init": {
            const ours = e.mcpServers.find((s) => s.name === TOOL_SERVER_NAME);
            if (ours?.status !== "connected")
              return stop(
                `the executor tool server did not start under Claude Code (status ${ours?.status ?? "missing"}).`,
                "error",
              );
            const foreign = e.tools.filter((t) => !t.startsWith(TOOL_NAME_PREFIX));
            if (foreign.length)
              return stop(
                `Claude Code offered tools beyond the executor's: ${clip(foreign.join(", "))}.`,
                "error",
              );
            return undefined;
          }
          case "retry":
            if (e.status === 401 || e.status === 403) return stop(authError(opts.model, e.error), "error");
            return undefined;
          case "assistant": {
            lastText = e.text || lastText;
            const seen = tracker.assistant(e.messageId, e.usage);
            if (seen) record(seen.usage);
            if (seen?.newRequest) {
              opts.onTurn?.(tracker.turns, opts.maxTurns);
              // The finish call's answer is the one request allowed past max_turns.
              if (
                tracker.turns > opts.maxTurns + 1 ||
                (tracker.turns > opts.maxTurns && !opts.tools.finished)
              )
                return stop(
                  `max_turns (${opts.maxTurns}) reached before the executor finished.`,
                  "budget_exceeded",
                );
            }
            if (opts.budgetUsd !== undefined && (costOf(tracker.total, opts.price) ?? 0) > opts.budgetUsd)
              return stop(`the attempt's spend passed budget_usd (${opts.budgetUsd}).`, "budget_exceeded");
            return undefined;
          }
          case "result": {
            const rest = tracker.remainder(e.usage);
            if (rest) record(rest, "output tokens reported only in Claude Code's final result");
            resultSeen = { subtype: e.subtype, isError: e.isError, text: e.text, status: e.apiErrorStatus };
            return undefined;
          }
          default:
            return undefined;
        }
      },
    });
    const result = await run.done;
    await Promise.all(pending);

    const server_ = serverVerdict(result, stopStatus, opts.tools, opts.maxFixRounds);
    if (server_) return outcome(server_);
    if (result.spawnError)
      return outcome({ status: "error", error: `Claude Code could not be started (${result.spawnError}).` });
    if (resultSeen) {
      const text = resultSeen.text || lastText;
      if (resultSeen.subtype === "error_max_turns")
        return outcome({
          status: "budget_exceeded",
          error: `max_turns (${opts.maxTurns}) reached before the executor finished.`,
        });
      if (resultSeen.subtype === "error_max_budget_usd")
        return outcome({
          status: "budget_exceeded",
          error: `the attempt's spend passed budget_usd (${opts.budgetUsd}).`,
        });
      if (
        resultSeen.status === 401 ||
        resultSeen.status === 403 ||
        /not logged in|\/login|invalid api key/i.test(text)
      )
        return outcome({ status: "error", error: authError(opts.model, text) });
      if (resultSeen.isError)
        return outcome({
          status: "error",
          error: `Claude Code ended with an error: ${clip(text || resultSeen.subtype)}`,
        });
      return outcome({ status: "failed", error: "the executor stopped without calling finish." });
    }
    const detail = clip(result.stderrTail || lastText || "no output");
    if (/not logged in|\/login|invalid api key|authentication/i.test(detail))
      return outcome({ status: "error", error: authError(opts.model, detail) });
    return outcome({
      status: "error",
      error: `Claude Code exited with ${result.exitCode ?? result.exitSignal ?? "no status"} before finishing: ${detail}`,
    });
  } finally {
    await bridge.close();
  }
}
