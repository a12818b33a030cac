import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { UserError } from "../core/errors.js";
import { CONFIG_FILE, type Config, configSchema } from "./schema.js";

export interface LoadedConfig {
  config: Config;
  /** The file it came from, or null when built-in defaults apply. */
  path: string | null;
  /** The workspace's own file (untrusted: it came with the repository), the user's, or none. */
  source: "workspace" | "user" | null;
}

/** The user-level config file: $XDG_CONFIG_HOME/delegate-mcp/config.json, else ~/.config/... */
export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "delegate-mcp", "config.json");
}

/**
 * `delegate.config.json` at the workspace root, else the user config, else nothing.
 * A file that exists but is invalid is an error naming the file, the field and the fix.
 */
export async function loadConfig(
  workspaceRoot: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  const candidates = [
    { path: join(workspaceRoot, CONFIG_FILE), source: "workspace" as const },
    { path: userConfigPath(env), source: "user" as const },
  ];
  for (const { path, source } of candidates) {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new UserError(
        `${path} cannot be read (${(err as Error).message}); fix its permissions.`,
        "config",
      );
    }
    return { config: parseConfig(text, path), path, source };
  }
  return { config: {}, path: null, source: null };
}

export function parseConfig(text: string, path: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path} is not valid JSON (${(err as Error).message}); fix the syntax.`, "config");
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join(".") || "(root)";
    throw new UserError(`${path}: ${field}: ${issue.message}; see schemas/config.schema.json.`, field);
  }
  return parsed.data;
}
