/**
 * Is the user's agent CLI there, and new enough for the flags the executor uses? Asked once per
 * command per server process; the answer, when negative, is one sentence with the fix.
 */
import { execa } from "execa";
import type { ResolvedModel } from "../config/models.js";
import { UserError } from "../core/errors.js";
import { bareHost, isLoopbackHost } from "../core/net.js";
import type { CliProviderName } from "../core/provider.js";

interface CliFacts {
  name: string;
  /** Oldest version with every flag the executor passes (claude: --tools "", --strict-mcp-config,
   * --no-session-persistence, --max-budget-usd; codex: exec --json, model_instructions_file). */
  minimum: string;
  install: string;
}

export const CLI_FACTS: Record<CliProviderName, CliFacts> = {
  "claude-code": {
    name: "Claude Code",
    minimum: "2.1.0",
    install: "npm install -g @anthropic-ai/claude-code",
  },
  codex: { name: "Codex CLI", minimum: "0.170.0", install: "npm install -g @openai/codex" },
};

export function parseVersion(text: string): [number, number, number] | null {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

export function olderThan(v: [number, number, number], minimum: string): boolean {
  const min = parseVersion(minimum)!;
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i]! < min[i]!;
  return false;
}

const checked = new Map<string, Promise<string>>();

/** The installed version, or a UserError saying what was found, what is needed and how to install it. */
export function checkCli(model: ResolvedModel, env: NodeJS.ProcessEnv): Promise<string> {
  const cli = model.cli;
  if (!cli) throw new Error(`${model.alias} is not a CLI provider`);
  const key = `${cli.command}\0${env.PATH ?? ""}`;
  let found = checked.get(key);
  if (!found) {
    found = probe(model, env);
    checked.set(key, found);
    found.catch(() => checked.delete(key));
  }
  return found;
}

async function probe(model: ResolvedModel, env: NodeJS.ProcessEnv): Promise<string> {
  const cli = model.cli!;
  const facts = CLI_FACTS[cli.provider];
  const field = `models.${model.alias}.command`;
  const result = await execa(cli.command, ["--version"], {
    env,
    extendEnv: false,
    stdin: "ignore",
    reject: false,
    timeout: 30_000,
    cleanup: true,
  });
  const code = (result as { code?: string }).code;
  if (code === "ENOENT" || code === "EACCES") {
    throw new UserError(
      `model ${model.alias} runs ${facts.name} (\`${cli.command}\`), which was not found; install ${facts.name} ${facts.minimum} or later (${facts.install}) or set ${field} to its path.`,
      field,
    );
  }
  const version = parseVersion(`${result.stdout}`);
  if (!version) {
    throw new UserError(
      `model ${model.alias}: \`${cli.command} --version\` did not print a version (exit ${result.exitCode ?? "none"}); install ${facts.name} ${facts.minimum} or later (${facts.install}).`,
      field,
    );
  }
  const shown = version.join(".");
  if (olderThan(version, facts.minimum)) {
    throw new UserError(
      `model ${model.alias}: ${facts.name} ${shown} is too old (found ${shown}, need ${facts.minimum} or later); update it with ${facts.install}.`,
      field,
    );
  }
  return shown;
}

/**
 * A repository's own delegate.config.json is not trusted (DESIGN, SECURITY.md): it may not choose
 * which program the server runs, nor send the user's CLI login to a host of its choosing (Claude
 * Code sends its login token to ANTHROPIC_BASE_URL). The user's own config may do both.
 */
export function assertCliConfigTrusted(
  model: ResolvedModel,
  env: NodeJS.ProcessEnv,
  configPath: string,
): void {
  if (!model.cli) return;
  if (model.cli.commandConfigured) {
    throw new UserError(
      `${configPath} sets models.${model.alias}.command, which only your own config may do (a repository must not pick the program the server runs); move it to ~/.config/delegate-mcp/config.json.`,
      `models.${model.alias}.command`,
    );
  }
  if (!model.baseURL) return;
  let host: string;
  try {
    host = bareHost(new URL(model.baseURL).hostname);
  } catch {
    return;
  }
  const trusted = (env.DELEGATE_TRUSTED_HOSTS ?? "").split(",").map((h) => h.trim().toLowerCase());
  if (isLoopbackHost(host) || trusted.includes(host)) return;
  throw new UserError(
    `${configPath} would send your ${CLI_FACTS[model.cli.provider].name} login to ${host} (model ${model.alias}); if you trust that host, add it to DELEGATE_TRUSTED_HOSTS in the MCP server's env.`,
    `models.${model.alias}.base_url`,
  );
}

/** Before a dispatch marks anything running: the config may run this CLI, and it is there and new enough. */
export async function checkCliModel(
  model: ResolvedModel,
  env: NodeJS.ProcessEnv,
  workspaceConfigPath: string | undefined,
): Promise<void> {
  if (workspaceConfigPath) assertCliConfigTrusted(model, env, workspaceConfigPath);
  if (model.cli?.apiKeyConfigured && !env[model.apiKeyEnv]) {
    throw new UserError(
      `${model.apiKeyEnv} is not set; add it to the MCP server's env, or remove api_key_env from model ${model.alias} to use the CLI's own login.`,
      `models.${model.alias}.api_key_env`,
    );
  }
  await checkCli(model, env);
}
