/**
 * What `delegate-mcp init` can find to run tasks on: provider keys in the environment, the
 * `claude` / `codex` CLIs on PATH, an Ollama server on 127.0.0.1:11434.
 */
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";

export const OLLAMA_URL = "http://127.0.0.1:11434";
/** A local server answers at once; anything slower is treated as absent so init never stalls. */
const OLLAMA_PROBE_MS = 1500;

export interface FoundModels {
  anthropicKey: boolean;
  openaiKey: boolean;
  claudeCli: boolean;
  codexCli: boolean;
  /** The Ollama server and its model names, when one answered. */
  ollama: { url: string; models: string[] } | null;
}

async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    try {
      await access(join(dir, name), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

/** The models an Ollama server lists at /api/tags, or null when none answers (DELEGATE_OLLAMA_URL moves it). */
export async function probeOllama(url: string): Promise<{ url: string; models: string[] } | null> {
  try {
    const res = await fetch(`${url.replace(/\/+$/, "")}/api/tags`, {
      signal: AbortSignal.timeout(OLLAMA_PROBE_MS),
    });
    if (!res.ok) return null;
    const body = (await res.json()) as { models?: { name?: unknown }[] };
    const models = (body.models ?? [])
      .map((m) => m.name)
      .filter((n): n is string => typeof n === "string" && n.length > 0 && n.length <= 128);
    return { url: url.replace(/\/+$/, ""), models };
  } catch {
    return null;
  }
}

export async function findModels(env: NodeJS.ProcessEnv): Promise<FoundModels> {
  const [claudeCli, codexCli, ollama] = await Promise.all([
    onPath("claude", env),
    onPath("codex", env),
    probeOllama(env.DELEGATE_OLLAMA_URL || OLLAMA_URL),
  ]);
  return {
    anthropicKey: Boolean(env.ANTHROPIC_API_KEY),
    openaiKey: Boolean(env.OPENAI_API_KEY),
    claudeCli,
    codexCli,
    ollama,
  };
}
