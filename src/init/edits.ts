/**
 * The files `delegate-mcp init` writes, as pure text edits: given what is there (or null), the new
 * text and what changed. Existing files are amended in place, never replaced; running it again
 * changes nothing.
 */
import { UserError } from "../core/errors.js";
import type { FoundModels } from "./detect.js";

export type EditAction = "create" | "amend" | "unchanged" | "kept";

export interface FileEdit {
  /** Workspace-relative path. */
  path: string;
  action: EditAction;
  /** The whole new text (the current text when unchanged or kept). */
  text: string;
  /** One line on what this edit does, or why nothing was done. */
  note: string;
}

export const SERVER_NAME = "delegate";
export const BLOCK_BEGIN = "<!-- delegate-mcp:begin (written by delegate-mcp init; keep these markers) -->";
export const BLOCK_END = "<!-- delegate-mcp:end -->";
const COMMAND_MARK = "<!-- written by delegate-mcp init";

export interface ServerEntry {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

function isDelegateEntry(entry: unknown): boolean {
  if (!entry || typeof entry !== "object") return false;
  const e = entry as { command?: unknown; args?: unknown };
  const words = [e.command, ...(Array.isArray(e.args) ? e.args : [])].filter((w) => typeof w === "string");
  return words.some((w) => /delegate-mcp/.test(w as string));
}

/** `.mcp.json` with a "delegate" stdio server: added beside the servers already there. */
export function mcpJsonEdit(path: string, existing: string | null, server: ServerEntry): FileEdit {
  let doc: { mcpServers?: Record<string, unknown> } & Record<string, unknown> = {};
  if (existing !== null && existing.trim() !== "") {
    try {
      doc = JSON.parse(existing);
    } catch (err) {
      throw new UserError(
        `${path} is not valid JSON (${(err as Error).message}); fix it, then run delegate-mcp init again (nothing was written).`,
      );
    }
    if (!doc || typeof doc !== "object" || Array.isArray(doc))
      throw new UserError(
        `${path} is not a JSON object; fix it, then run delegate-mcp init again (nothing was written).`,
      );
  }
  const servers = doc.mcpServers ?? {};
  const already = Object.entries(servers).find(([name, e]) => name === SERVER_NAME || isDelegateEntry(e));
  if (already && existing !== null)
    return {
      path,
      action: "unchanged",
      text: existing,
      note: `server "${already[0]}" is already registered`,
    };
  const text = `${JSON.stringify({ ...doc, mcpServers: { ...servers, [SERVER_NAME]: server } }, null, 2)}\n`;
  const shown = [server.command, ...server.args].join(" ");
  return existing === null
    ? { path, action: "create", text, note: `registers server "${SERVER_NAME}" (${shown})` }
    : { path, action: "amend", text, note: `adds server "${SERVER_NAME}" (${shown}) beside the others` };
}

/** CLAUDE.md with the instruction block between markers: appended once, refreshed in place after. */
export function claudeMdEdit(path: string, existing: string | null, block: string): FileEdit {
  const wrapped = `${BLOCK_BEGIN}\n${block.trim()}\n${BLOCK_END}\n`;
  if (existing === null) return { path, action: "create", text: wrapped, note: "adds the delegation block" };
  const begin = existing.indexOf(BLOCK_BEGIN);
  const end = existing.indexOf(BLOCK_END, begin);
  if (begin >= 0 && end > begin) {
    const after = end + BLOCK_END.length + (existing[end + BLOCK_END.length] === "\n" ? 1 : 0);
    const text = `${existing.slice(0, begin)}${wrapped}${existing.slice(after)}`;
    return text === existing
      ? { path, action: "unchanged", text, note: "the delegation block is up to date" }
      : { path, action: "amend", text, note: "refreshes the delegation block between its markers" };
  }
  const gap = existing === "" ? "" : existing.endsWith("\n\n") ? "" : existing.endsWith("\n") ? "\n" : "\n\n";
  return {
    path,
    action: "amend",
    text: `${existing}${gap}${wrapped}`,
    note: "appends the delegation block (the rest is kept)",
  };
}

/** The /delegate slash command: written when absent, refreshed when init wrote it, else kept. */
export function commandFileEdit(path: string, existing: string | null, content: string): FileEdit {
  if (existing === null) return { path, action: "create", text: content, note: "adds the /delegate command" };
  if (existing === content) return { path, action: "unchanged", text: existing, note: "up to date" };
  if (existing.includes(COMMAND_MARK))
    return { path, action: "amend", text: content, note: "refreshes the /delegate command init wrote" };
  return { path, action: "kept", text: existing, note: "kept: it was not written by delegate-mcp init" };
}

export interface StarterConfig {
  config: {
    models?: Record<string, Record<string, unknown>>;
    defaults: { executor: string; planner: string };
  };
  /** Why this executor, in a few words. */
  reason: string;
  /** The other models found, as aliases a spec or dispatch may name. */
  others: string[];
}

/** Prefer a model Ollama lists whose name says it codes. */
function pickOllamaModel(models: string[]): string | undefined {
  return models.find((m) => /coder|code/i.test(m)) ?? models[0];
}

/**
 * A delegate.config.json for what was found. Executor preference: an API key (cheapest per task,
 * measured usage), a local Ollama model, the claude / codex CLI login, else the scripted executor.
 */
export function starterConfig(found: FoundModels): StarterConfig {
  const models: Record<string, Record<string, unknown>> = {};
  const options: { alias: string; reason: string }[] = [];
  if (found.anthropicKey) options.push({ alias: "haiku", reason: "ANTHROPIC_API_KEY is set" });
  if (found.openaiKey) options.push({ alias: "gpt-4o-mini", reason: "OPENAI_API_KEY is set" });
  const local = found.ollama ? pickOllamaModel(found.ollama.models) : undefined;
  if (found.ollama && local) {
    models.local = {
      provider: "openai-compatible",
      model: local,
      base_url: `${found.ollama.url}/v1`,
      price: { input_per_mtok: 0, output_per_mtok: 0 },
    };
    options.push({ alias: "local", reason: `Ollama answers at ${found.ollama.url} with ${local}` });
  }
  if (found.claudeCli) options.push({ alias: "haiku-cli", reason: "the claude CLI is on PATH" });
  if (found.codexCli) {
    models.codex = { provider: "codex", model: "gpt-5-mini" };
    options.push({ alias: "codex", reason: "the codex CLI is on PATH" });
  }
  const chosen = options[0] ?? {
    alias: "scripted",
    reason: "no key, CLI or Ollama found: the scripted executor, not a model, to try the flow",
  };
  return {
    config: {
      ...(Object.keys(models).length ? { models } : {}),
      defaults: { executor: chosen.alias, planner: "sonnet" },
    },
    reason: chosen.reason,
    others: options.slice(1).map((o) => o.alias),
  };
}

/** delegate.config.json: written only when there is none (a user's own config is never touched). */
export function configEdit(path: string, existing: string | null, starter: StarterConfig): FileEdit {
  if (existing !== null) return { path, action: "kept", text: existing, note: "kept as it is" };
  const also = starter.others.length ? `; also usable: ${starter.others.join(", ")}` : "";
  return {
    path,
    action: "create",
    text: `${JSON.stringify(starter.config, null, 2)}\n`,
    note: `executor ${starter.config.defaults.executor} (${starter.reason})${also}`,
  };
}
