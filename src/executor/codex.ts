/**
 * The `codex` executor: the user's own Codex CLI, headless (`codex exec --json`), in the attempt's
 * worktree, its sandbox limited to that worktree with no network. Its own tools edit files
 * directly, so the write scope is enforced after the run: the dispatcher's scope check reverts
 * and reports every change outside files_to_modify (SECURITY.md). Usage from turn.completed.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CliUsageTracker, parseCodexLine } from "../core/cli-events.js";
import { costOf } from "../core/pricing.js";
import { readTemplate } from "../store/templates.js";
import type { CliExecutorOptions } from "./claude-code.js";
import { CODEX_KEY_ENV, cliEnv } from "./cli-env.js";
import { type CliVerdict, cliOutcome, clip, serverVerdict } from "./cli-outcome.js";
import { type CliProcess, startCli } from "./cli-process.js";
import type { LoopOutcome, LoopStatus } from "./loop.js";
import { openToolBridge } from "./tool-bridge.js";

/** Items that stand for one model request with a tool call: what max_turns counts for codex. */
const TOOL_ITEMS = new Set(["command_execution", "file_change", "mcp_tool_call", "web_search"]);

export const CODEX_AUTH_FIX = "run `codex login` once to log in";

/** TOML basic string: JSON's escaping is a subset TOML accepts. */
function tomlString(s: string): string {
  return JSON.stringify(s);
}

export function codexArgs(o: {
  model: string;
  prompt: string;
  cwd: string;
  instructionsFile: string;
  baseURL?: string | undefined;
  keyConfigured: boolean;
}): string[] {
  const provider =
    o.baseURL !== undefined
      ? [
          "-c",
          'model_provider="delegate"',
          "-c",
          `model_providers.delegate={name="delegate",base_url=${tomlString(o.baseURL)},wire_api="responses"${o.keyConfigured ? `,env_key="${CODEX_KEY_ENV}"` : ""}}`,
        ]
      : [];
  return [
    "exec",
    "--json",
    "-m",
    o.model,
    "-C",
    o.cwd,
    "--sandbox",
    "workspace-write",
    "-c",
    "sandbox_workspace_write.network_access=false",
    // Writable: the worktree only, not /tmp or $TMPDIR as well.
    "-c",
    "sandbox_workspace_write.exclude_slash_tmp=true",
    "-c",
    "sandbox_workspace_write.exclude_tmpdir_env_var=true",
    "-c",
    'approval_policy="never"',
    "-c",
    `model_instructions_file=${tomlString(o.instructionsFile)}`,
    "-c",
    'web_search="disabled"',
    // The repository's own hooks, rules and plugins are not the user's: none of them in an executor run.
    "--disable",
    "hooks",
    "--disable",
    "plugins",
    "--disable",
    "apps",
    "--disable",
    "goals",
    "--disable",
    "image_generation",
    "--disable",
    "unbounded_connection_retries",
    // Nor the tools and catalogs an executor has no use for, sent with every request: sub-agents
    // (about 2,700 tokens of tool definition), images, questions to a user who is not there, and
    // the skills list.
    "--disable",
    "multi_agent",
    "--disable",
    "view_image",
    "-c",
    "tools.experimental_request_user_input.enabled=false",
    "-c",
    "skills.include_instructions=false",
    "--ignore-rules",
    "--ephemeral",
    "--skip-git-repo-check",
    ...provider,
    o.prompt,
  ];
}

export async function runCodex(opts: CliExecutorOptions): Promise<LoopOutcome> {
  const tracker = new CliUsageTracker();
  let turns = 0;
  const outcome = (v: CliVerdict) =>
    cliOutcome(opts.tools, v, { turns, usage: tracker.total, price: opts.price });
  // Codex has no tools of ours: the bridge is only the private directory for the run's files.
  const bridge = await openToolBridge(opts.tools);
  let run: CliProcess | undefined;
  let stopStatus: LoopStatus | undefined;
  const stop = (reason: string, status: LoopStatus): string => {
    stopStatus ??= status;
    run?.stop(reason);
    return reason;
  };
  const pending: Promise<void>[] = [];
  try {
    const instructionsFile = join(bridge.dir, "instructions.md");
    await writeFile(instructionsFile, await readTemplate("executor-codex.md"), { mode: 0o600 });
    const validation = (opts.validationCommands ?? []).map((c) => `$ ${c}`).join("\n");
    const prompt = `${opts.user}\n\nValidation commands (run each once when the edits are done):\n${validation}\n`;
    let lastMessage = "";
    let failure: string | undefined;
    run = startCli({
      command: opts.model.cli!.command,
      args: codexArgs({
        model: opts.model.model,
        prompt,
        cwd: opts.cwd,
        instructionsFile,
        baseURL: opts.model.baseURL,
        keyConfigured: opts.model.cli!.apiKeyConfigured,
      }),
      cwd: opts.cwd,
      env: cliEnv(opts.model, opts.env, { toolTimeoutMs: opts.toolTimeoutMs }),
      signal: opts.signal,
      idleTimeoutMs: opts.requestTimeoutMs,
      onLine: (line) => {
        const e = parseCodexLine(line);
        if (!e) return undefined;
        if (e.kind === "item") {
          if (e.itemType === "agent_message") lastMessage = e.text;
          if (TOOL_ITEMS.has(e.itemType)) {
            turns++;
            opts.onTurn?.(turns, opts.maxTurns);
            if (turns > opts.maxTurns)
              return stop(
                `max_turns (${opts.maxTurns}) reached before the executor finished.`,
                "budget_exceeded",
              );
          }
          return undefined;
        }
        if (e.kind === "turn_completed") {
          tracker.add(e.usage);
          const p = opts.onCall?.(e.usage, "one Codex turn (all its model requests)");
          if (p) pending.push(p);
          // Codex has no budget flag and reports usage once per turn: the cap is checked here.
          if (opts.budgetUsd !== undefined && (costOf(tracker.total, opts.price) ?? 0) > opts.budgetUsd)
            return stop(`the attempt's spend passed budget_usd (${opts.budgetUsd}).`, "budget_exceeded");
          return undefined;
        }
        if (e.kind === "failed" || e.kind === "notice") {
          if (e.kind === "failed") failure = e.message;
          if (/\b401\b|unauthorized|invalid api key|not logged in|please log ?in/i.test(e.message))
            return stop(
              `Codex could not authenticate (${clip(e.message, 120)}); ${CODEX_AUTH_FIX}, or set api_key_env for model ${opts.model.alias} in delegate.config.json.`,
              "error",
            );
        }
        return undefined;
      },
    });
    const result = await run.done;
    await Promise.all(pending);
    // The executor's report is its last message; its first line carries the status.
    if (lastMessage && !failure) {
      opts.tools.finished = {
        status: /FAILED|❌/.test(lastMessage.split("\n")[0] ?? "") ? "failed" : "complete",
        summary: lastMessage,
      };
    }
    if (result.stop) {
      const server = serverVerdict(result, stopStatus, opts.tools, Number.POSITIVE_INFINITY);
      if (server) return outcome(server);
    }
    if (result.spawnError)
      return outcome({ status: "error", error: `Codex could not be started (${result.spawnError}).` });
    if (failure) return outcome({ status: "error", error: `Codex ended with an error: ${clip(failure)}` });
    if (result.exitCode !== 0)
      return outcome({
        status: "error",
        error: `Codex exited with ${result.exitCode ?? result.exitSignal ?? "no status"}: ${clip(result.stderrTail || "no output")}`,
      });
    if (opts.tools.finished) return outcome({ status: opts.tools.finished.status });
    return outcome({ status: "failed", error: "the executor ended without a final message." });
  } finally {
    await bridge.close();
  }
}
