import { readFile, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { executorModel } from "../config/models.js";
import { priceOf } from "../config/price-catalog.js";
import type { Config } from "../config/schema.js";
import { packContext } from "../core/context.js";
import { messageOf } from "../core/errors.js";
import { estimateInputTokens, estimateOutputTokens } from "../core/estimate.js";
import { EXECUTOR_TOOLS } from "../core/executor-tools.js";
import { type FileFact, hasBlocking, lintMiniTask } from "../core/lint.js";
import type { Estimate, LintIssue, MiniTaskSpec, StoredTask } from "../core/mini-task.js";
import { slugify } from "../core/mini-task.js";
import { costOf } from "../core/pricing.js";
import { countLines, renderMiniTask } from "../core/render.js";
import { INITIAL_STATUS } from "../core/status.js";
import { countTokens } from "../core/token-count.js";
import { protectedReason, safePath } from "./safe-path.js";
import type { TaskStore } from "./tasks.js";
import { readTemplate } from "./templates.js";
import type { Workspace } from "./workspace.js";

/** Listed files larger than this are refused: the executor is for small, precise edits. */
export const MAX_LISTED_FILE_BYTES = 2 * 1024 * 1024;

export interface FileScan {
  facts: FileFact[];
  /** Current text of each listed file that exists, by its spec path. */
  texts: Map<string, string>;
}

async function scanFile(
  ws: Workspace,
  path: string,
  field: string,
  forWrite: boolean,
): Promise<{ fact: FileFact; text?: string }> {
  let abs: string;
  let rel: string;
  try {
    ({ abs, rel } = await safePath(ws.root, path, field));
  } catch (err) {
    return { fact: { refused: messageOf(err), exists: false } };
  }
  if (forWrite) {
    const reason = protectedReason(rel, ws.dirRel);
    if (reason) return { fact: { refused: `${field} "${path}" is refused: ${reason}.`, exists: false } };
  }
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(abs);
  } catch {
    return { fact: { exists: false } };
  }
  if (!info.isFile()) return { fact: { exists: true, isFile: false } };
  if (info.size > MAX_LISTED_FILE_BYTES)
    return {
      fact: {
        refused: `${field} "${path}" is ${info.size} bytes; listed files must be under 2 MB.`,
        exists: true,
      },
    };
  const text = await readFile(abs, "utf8");
  return { fact: { exists: true, isFile: true, lineCount: countLines(text) }, text };
}

/** Check every listed path through safePath and read what exists. */
export async function scanFiles(
  ws: Workspace,
  spec: MiniTaskSpec,
): Promise<{ read: FileScan; modify: FileScan }> {
  const read: FileScan = { facts: [], texts: new Map() };
  const modify: FileScan = { facts: [], texts: new Map() };
  for (const [i, f] of spec.files_to_read.entries()) {
    const { fact, text } = await scanFile(ws, f.path, `files_to_read[${i}].path`, false);
    read.facts.push(fact);
    if (text !== undefined) read.texts.set(f.path, text);
  }
  for (const [i, f] of spec.files_to_modify.entries()) {
    const { fact, text } = await scanFile(ws, f.path, `files_to_modify[${i}].path`, true);
    modify.facts.push(fact);
    if (text !== undefined) modify.texts.set(f.path, text);
  }
  return { read, modify };
}

/** Token count of caller text in bounded pieces: a long run without spaces would take the tokenizer minutes. */

export interface CreateResult {
  /** Set when the task was stored (no blocking lint). */
  task?: StoredTask;
  path?: string;
  estimate: Estimate;
  lint: LintIssue[];
}

/** Validate, lint, estimate, number and store a mini-task (the domain behind create_mini_task). */
/**
 * Paths as the rest of the server compares them: relative to the workspace, "/"-separated, no
 * "./" or "a/../" detours (an absolute path inside the workspace becomes relative). Paths that
 * leave the workspace stay as given, for lint to refuse with the caller's own spelling.
 */
function withWorkspacePaths(ws: Workspace, spec: MiniTaskSpec): MiniTaskSpec {
  const norm = (p: string): string => {
    if (p.includes("\0") || p.includes("\\") || /\s$|^\s/.test(p)) return p;
    const rel = relative(ws.root, resolve(ws.root, p)).split(sep).join("/");
    return rel && !rel.startsWith("../") && rel !== ".." && !isAbsolute(rel) ? rel : p;
  };
  return {
    ...spec,
    files_to_read: spec.files_to_read.map((f) => ({ ...f, path: norm(f.path) })),
    files_to_modify: spec.files_to_modify.map((f) => ({ ...f, path: norm(f.path) })),
  };
}

export async function createMiniTask(
  ws: Workspace,
  store: TaskStore,
  config: Config,
  spec: MiniTaskSpec,
  now: Date = new Date(),
): Promise<CreateResult> {
  spec = withWorkspacePaths(ws, spec);
  const model = executorModel(config, spec.model);
  const { read, modify } = await scanFiles(ws, spec);
  const texts = new Map([...read.texts, ...modify.texts]);
  const packed = packContext(spec, texts);
  const system = await readTemplate("executor-system.md");
  const tools = JSON.stringify(EXECUTOR_TOOLS);
  const promptTokens = await countTokens(`${system}\n${tools}\n${packed.user}`, model.provider);
  const snippetTokens = await countTokens(spec.snippets.map((s) => s.code).join("\n"), model.provider);
  const outputTokens = estimateOutputTokens({
    steps: spec.steps.length,
    snippetTokens,
    createTokens: 0,
  });
  const inputTokens = estimateInputTokens(promptTokens, outputTokens);
  const price = await priceOf(model);
  const estimate: Estimate = {
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    cost_usd: costOf(
      { input_tokens: inputTokens, output_tokens: outputTokens, cache_read_tokens: 0, cache_write_tokens: 0 },
      price,
    ),
    model: model.alias,
  };

  const knownTaskIds = new Set<string>();
  for (const id of spec.depends_on) if (await store.exists(id)) knownTaskIds.add(id);
  const lint = lintMiniTask(spec, { read: read.facts, modify: modify.facts, promptTokens, knownTaskIds });
  if (price === null)
    lint.push({
      level: "warning",
      field: "model",
      message: `no price is known for ${model.model}; add "price" for it in delegate.config.json to see costs.`,
    });
  if (hasBlocking(lint)) return { estimate, lint };

  const slug = slugify(spec.title);
  const { number, id } = await store.allocate(spec.project, slug);
  const stamp = now.toISOString();
  const task: StoredTask = {
    ...spec,
    id,
    number,
    slug,
    status: INITIAL_STATUS,
    estimate,
    lint,
    attempts: [],
    created_at: stamp,
    updated_at: stamp,
  };
  try {
    await store.write(task, renderMiniTask(task, await readTemplate("mini-task.md")));
  } catch (err) {
    // Nothing half-stored: no JSON without its markdown, no number reserved for a task that is not there.
    await store.discardNew(id).catch(() => {});
    throw err;
  }
  const path = `${ws.dirRel}/${spec.project}/${id.split("/")[1]}.json`;
  return { task, path, estimate, lint };
}
