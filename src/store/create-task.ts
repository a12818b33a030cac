import { readFile, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { executorModel, plannerModel } from "../config/models.js";
import { priceOf } from "../config/price-catalog.js";
import type { Config } from "../config/schema.js";
import { packContext } from "../core/context.js";
import { messageOf } from "../core/errors.js";
import { estimateInputTokens, estimateOutputTokens } from "../core/estimate.js";
import { EXECUTOR_TOOLS } from "../core/executor-tools.js";
import { type FileFact, hasBlocking, lintMiniTask } from "../core/lint.js";
import type { Estimate, LintIssue, MiniTaskSpec, StoredTask, Target } from "../core/mini-task.js";
import { slugify } from "../core/mini-task.js";
import { costOf } from "../core/pricing.js";
import { countLines, renderMiniTask } from "../core/render.js";
import { INITIAL_STATUS } from "../core/status.js";
import { expandTemplate } from "../core/template.js";
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

export interface CreateResult {
  /** The first task stored (the only one unless the spec is a template); absent when refused. */
  task?: StoredTask;
  /** Every task stored: one, or one per target of a template. */
  tasks: StoredTask[];
  /** The template id (`<project>/t<NN>-<slug>`) when the spec had targets. */
  template?: string;
  /** The stored task's JSON, or for a template its project directory. */
  path?: string;
  /** The task's estimate, or for a template the sum over its tasks. */
  estimate: Estimate;
  /** Lint of every task; a template's are led by `targets[i].` (identical ones once). */
  lint: LintIssue[];
}

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

/** One task ready to store: its spec (targets filled in), estimate and lint. */
interface Prepared {
  spec: MiniTaskSpec;
  target?: Target;
  estimate: Estimate;
  lint: LintIssue[];
}

/** What a batch's specs share: the executor prompt's fixed part and the planner's output price. */
interface BatchContext {
  system: string;
  tools: string;
  plannerOutputPrice: number | null;
  /** Open tasks per project with the files they modify, for the merge advice. */
  openTasks: Map<string, { id: string; files: string[] }[]>;
}

async function batchContext(store: TaskStore, config: Config, projects: string[]): Promise<BatchContext> {
  let plannerOutputPrice: number | null = null;
  try {
    plannerOutputPrice = (await priceOf(plannerModel(config)))?.output_per_mtok ?? null;
  } catch {
    // An unknown defaults.planner only loses the snippet advice's price ratio (the default is used).
  }
  const openTasks = new Map<string, { id: string; files: string[] }[]>();
  for (const project of new Set(projects)) {
    const { tasks } = await store.list({ project });
    openTasks.set(
      project,
      tasks
        .filter((t) => !CLOSED.has(t.status))
        .map((t) => ({ id: t.id, files: t.files_to_modify.map((f) => f.path) })),
    );
  }
  return {
    system: await readTemplate("executor-system.md"),
    tools: JSON.stringify(EXECUTOR_TOOLS),
    plannerOutputPrice,
    openTasks,
  };
}

/** Tasks that can no longer be merged with. */
const CLOSED = new Set(["accepted", "discarded", "cancelled"]);

async function prepareTask(
  ws: Workspace,
  store: TaskStore,
  config: Config,
  spec: MiniTaskSpec,
  batch: BatchContext,
  mergeCandidates: string[],
): Promise<Omit<Prepared, "target">> {
  const model = executorModel(config, spec.model);
  const { read, modify } = await scanFiles(ws, spec);
  const texts = new Map([...read.texts, ...modify.texts]);
  const packed = packContext(spec, texts);
  const promptTokens = await countTokens(`${batch.system}\n${batch.tools}\n${packed.user}`, model.provider);
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
  const lint = lintMiniTask(spec, {
    read: read.facts,
    modify: modify.facts,
    promptTokens,
    knownTaskIds,
    mergeCandidates,
    snippetTokens,
    outputTokens,
    outputPriceRatio:
      price && batch.plannerOutputPrice ? price.output_per_mtok / batch.plannerOutputPrice : null,
  });
  if (price === null)
    lint.push({
      level: "warning",
      field: "model",
      message: `no price is known for ${model.model}; add "price" for it in delegate.config.json to see costs.`,
    });
  return { spec, estimate, lint };
}

/** The lint of a template's tasks, each led by its target; an issue every target shares, once. */
function templateLint(tasks: Prepared[]): LintIssue[] {
  const out: LintIssue[] = [];
  const seen = new Set<string>();
  tasks.forEach((t, i) => {
    for (const l of t.lint) {
      const key = `${l.level}|${l.field}|${l.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ ...l, field: `targets[${i}].${l.field}` });
    }
  });
  return out;
}

function sumEstimates(estimates: Estimate[]): Estimate {
  const costs = estimates.map((e) => e.cost_usd);
  return {
    input_tokens: estimates.reduce((n, e) => n + e.input_tokens, 0),
    output_tokens: estimates.reduce((n, e) => n + e.output_tokens, 0),
    cost_usd: costs.some((c) => c === null)
      ? null
      : Math.round(costs.reduce<number>((n, c) => n + (c ?? 0), 0) * 1e9) / 1e9,
    model: estimates[0]?.model ?? "",
  };
}

export interface BatchResult {
  /** One per spec given, in order. Nothing is stored when any spec has blocking lint. */
  results: CreateResult[];
  /** Every spec's lint, each field led by `<prefix>` of its spec (e.g. `specs[1].validation`). */
  lint: LintIssue[];
  stored: boolean;
}

/**
 * Validate, lint, estimate, number and store mini-tasks (the domain behind create_mini_task and
 * dispatch's inline specs). A spec with `targets` is a template: one task per target, all sharing
 * a template id. Blocking lint in any spec (or any target) stores nothing at all.
 */
export async function createMiniTasks(
  ws: Workspace,
  store: TaskStore,
  config: Config,
  specs: MiniTaskSpec[],
  opts: { now?: Date; fieldPrefix?: (index: number) => string; dryRun?: boolean } = {},
): Promise<BatchResult> {
  const now = opts.now ?? new Date();
  const prefix = opts.fieldPrefix ?? (() => "");
  const expanded = specs.map((raw) => {
    const expansion = expandTemplate(withWorkspacePaths(ws, raw));
    return { raw, ...expansion };
  });
  const batch = await batchContext(
    store,
    config,
    specs.map((s) => s.project),
  );
  const prepared: Prepared[][] = [];
  for (const [i, e] of expanded.entries()) {
    const tasks: Prepared[] = [];
    for (const { spec, target } of e.specs) {
      const files = new Set(spec.files_to_modify.map((f) => f.path));
      const touches = (paths: string[]) => paths.some((p) => files.has(p));
      const mergeCandidates = [
        ...(batch.openTasks.get(spec.project) ?? []).filter((t) => touches(t.files)).map((t) => t.id),
        // Other specs of this call (not this template's own targets: those are meant to be separate).
        ...expanded
          .flatMap((o, j) => (j === i ? [] : o.specs.map((x) => ({ j, s: x.spec }))))
          .filter(({ s }) => s.project === spec.project && touches(s.files_to_modify.map((f) => f.path)))
          .map(({ j, s }) => `${prefix(j) || "the spec "}"${s.title}"`),
      ];
      const p = await prepareTask(ws, store, config, spec, batch, mergeCandidates);
      tasks.push({ ...p, ...(e.raw.targets ? { target } : {}) });
    }
    prepared.push(tasks);
  }

  const lintOf = (i: number): LintIssue[] => {
    const e = expanded[i]!;
    if (e.errors.length) return e.errors;
    const tasks = prepared[i]!;
    return e.raw.targets ? templateLint(tasks) : (tasks[0]?.lint ?? []);
  };
  const lint = specs.flatMap((_, i) => lintOf(i).map((l) => ({ ...l, field: `${prefix(i)}${l.field}` })));
  const blocked = expanded.some((e) => e.errors.length) || hasBlocking(lint);
  const estimateOf = (i: number) => sumEstimates(prepared[i]!.map((t) => t.estimate));
  if (blocked || opts.dryRun) {
    return {
      results: specs.map((_, i) => ({ tasks: [], estimate: estimateOf(i), lint: lintOf(i) })),
      lint,
      stored: false,
    };
  }

  const results: CreateResult[] = [];
  const stored: StoredTask[] = [];
  try {
    for (const [i, e] of expanded.entries()) {
      const template = e.raw.targets
        ? await store.allocateTemplate(e.raw.project, slugify(e.raw.title))
        : undefined;
      const tasks: StoredTask[] = [];
      for (const p of prepared[i]!) {
        const task = await storeTask(store, p, template, now);
        stored.push(task);
        tasks.push(task);
      }
      const first = tasks[0]!;
      results.push({
        task: first,
        tasks,
        ...(template ? { template } : {}),
        path: template
          ? `${ws.dirRel}/${e.raw.project}/`
          : `${ws.dirRel}/${first.project}/${first.id.split("/")[1]}.json`,
        estimate: estimateOf(i),
        lint: lintOf(i),
      });
    }
  } catch (err) {
    // All or nothing: a batch that could not be stored whole leaves no task of it behind.
    await Promise.all(stored.map((t) => store.discardNew(t.id).catch(() => {})));
    throw err;
  }
  return { results, lint, stored: true };
}

async function storeTask(
  store: TaskStore,
  p: Prepared,
  template: string | undefined,
  now: Date,
): Promise<StoredTask> {
  const { targets: _targets, ...spec } = p.spec;
  const slug = slugify(spec.title);
  const { number, id } = await store.allocate(spec.project, slug);
  const stamp = now.toISOString();
  const task: StoredTask = {
    ...spec,
    ...(template ? { template } : {}),
    ...(p.target ? { target: p.target } : {}),
    id,
    number,
    slug,
    status: INITIAL_STATUS,
    estimate: p.estimate,
    lint: p.lint,
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
  return task;
}

/** One spec (a template included): create_mini_task's domain. */
export async function createMiniTask(
  ws: Workspace,
  store: TaskStore,
  config: Config,
  spec: MiniTaskSpec,
  now: Date = new Date(),
): Promise<CreateResult> {
  const { results } = await createMiniTasks(ws, store, config, [spec], { now });
  return results[0]!;
}
