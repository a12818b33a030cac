/**
 * The environment an agent CLI executor starts with. MCP clients hand the server their own
 * ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY (and the like); passed on, they would silently redirect
 * or bill the user's executor. So every inherited provider key, base URL and credential-like
 * variable is dropped, and only what the model's config asks for is set.
 */
import type { ResolvedModel } from "../config/models.js";
import { isSecretName } from "../validation/env.js";

/** Variables of the MCP client session itself: a nested CLI must not think it is that session. */
const CLIENT_SESSION = new Set([
  "CLAUDECODE",
  "CLAUDE_CODE_ENTRYPOINT",
  "CLAUDE_CODE_SESSION_ID",
  "CLAUDE_PROJECT_DIR",
  "CLAUDE_CODE_SSE_PORT",
  "MCP_TOOL_TIMEOUT",
]);

/** The CLIs' own login tokens: how a subscription user signs in headless; kept. */
const OWN_LOGIN = new Set(["CLAUDE_CODE_OAUTH_TOKEN"]);

const PROVIDER_VARIABLE = /^(ANTHROPIC|OPENAI|AZURE_OPENAI|CODEX_API)_/i;

/** The name Codex reads the configured key from (see codex.ts), never the user's OPENAI_API_KEY. */
export const CODEX_KEY_ENV = "DELEGATE_CODEX_API_KEY";

export interface CliEnvOptions {
  /** For MCP tool calls (a run_validation can take as long as the validation ceiling). */
  toolTimeoutMs: number;
}

export function cliEnv(model: ResolvedModel, env: NodeJS.ProcessEnv, opts: CliEnvOptions): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || CLIENT_SESSION.has(name) || PROVIDER_VARIABLE.test(name)) continue;
    if (isSecretName(name) && !OWN_LOGIN.has(name)) continue;
    out[name] = value;
  }
  const key = model.cli?.apiKeyConfigured ? env[model.apiKeyEnv] : undefined;
  if (model.provider === "claude-code") {
    if (model.baseURL) out.ANTHROPIC_BASE_URL = model.baseURL;
    if (key) out.ANTHROPIC_API_KEY = key;
    // An executor run needs no update checks, telemetry or error reports.
    out.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1";
    out.DISABLE_AUTOUPDATER = "1";
    out.DISABLE_TELEMETRY = "1";
    out.DISABLE_ERROR_REPORTING = "1";
    out.MCP_TOOL_TIMEOUT = String(opts.toolTimeoutMs);
  } else if (key) {
    out[CODEX_KEY_ENV] = key;
  }
  return out;
}
