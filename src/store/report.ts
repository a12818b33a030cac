import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { plannerModel, type ResolvedModel, resolveModel } from "../config/models.js";
import { catalogVersion, priceOf } from "../config/price-catalog.js";
import type { Config } from "../config/schema.js";
import { UserError } from "../core/errors.js";
import type { LedgerEntry, LedgerPhase, LedgerSource } from "../core/ledger-entry.js";
import { SLUG_RE } from "../core/mini-task.js";
import { costOf } from "../core/pricing.js";
import { extractLearnings, renderLogMarkdown } from "../core/report-render.js";
import { computeSavings, type SavingsReport, type SavingsTaskInput } from "../core/savings.js";
import type { Usage } from "../core/usage.js";
import { writeFileAtomic } from "./atomic.js";
import { LEDGER_FILE, Ledger } from "./ledger.js";
import { safePath } from "./safe-path.js";
import type { TaskStore } from "./tasks.js";
import type { Workspace } from "./workspace.js";
import { writeFailure } from "./write-failure.js";

/** The report file inside each project's folder. */
export const LOG_FILE = "LOG.md";

/** The cost of `usage` on `model`: config override, else catalog; null when no price is known. */
export async function priceEntry(model: ResolvedModel, usage: Usage): Promise<number | null> {
  return costOf(usage, await priceOf(model));
}

export interface UsageRecord {
  project: string;
  phase: LedgerPhase;
  model: ResolvedModel;
  usage: Usage;
  source: LedgerSource;
  now: Date;
  task?: string;
  attempt?: number;
  note?: string;
  escalation?: boolean;
  error?: string;
}

/** log_tokens: record usage the server cannot see (the planner's own phases, or a baseline estimate). */
export async function logTokens(
  ws: Workspace,
  config: Config,
  args: {
    project: string;
    phase: LedgerPhase;
    model: string;
    usage: Usage;
    task_id?: string | undefined;
    note?: string | undefined;
  },
): Promise<{ cost_usd: number | null; model: ResolvedModel }> {
  if (args.task_id && !args.task_id.startsWith(`${args.project}/`)) {
    throw new UserError(
      `task_id ${args.task_id} is not in project ${args.project}; give that project or drop task_id.`,
      "task_id",
    );
  }
  const model = resolveModel(config, args.model);
  const entry = await pricedEntry({
    project: args.project,
    phase: args.phase,
    model,
    usage: args.usage,
    source: args.phase === "baseline_estimate" ? "estimated" : "reported",
    now: new Date(),
    ...(args.task_id ? { task: args.task_id } : {}),
    ...(args.note ? { note: args.note } : {}),
  });
  await ledgerAt(ws.dir).append(entry);
  return { cost_usd: entry.cost_usd, model };
}

/** A ledger record for `usage` on `model`, priced now (cost_usd null when no price is known). */
export async function pricedEntry(r: UsageRecord): Promise<LedgerEntry> {
  return {
    ts: r.now.toISOString(),
    project: r.project,
    ...(r.task !== undefined ? { task: r.task } : {}),
    ...(r.attempt !== undefined ? { attempt: r.attempt } : {}),
    phase: r.phase,
    model: r.model.model,
    provider: r.model.provider,
    input_tokens: r.usage.input_tokens,
    output_tokens: r.usage.output_tokens,
    cache_read_tokens: r.usage.cache_read_tokens,
    cache_write_tokens: r.usage.cache_write_tokens,
    cost_usd: await priceEntry(r.model, r.usage),
    source: r.source,
    ...(r.note !== undefined ? { note: r.note } : {}),
    ...(r.escalation !== undefined ? { escalation: r.escalation } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
  };
}

/** The ledger of a delegate dir (mini-projects/ledger.jsonl). */
export function ledgerAt(dir: string): Ledger {
  return new Ledger(join(dir, LEDGER_FILE));
}

/** "@pydantic/genai-prices 0.1.8; overrides in delegate.config.json for haiku, sonnet". */
export async function pricesLabel(config: Config): Promise<string> {
  const overridden = Object.entries(config.models ?? {})
    .filter(([, m]) => m.price)
    .map(([alias]) => alias)
    .sort();
  const catalog = await catalogVersion();
  return overridden.length
    ? `${catalog}; overrides in delegate.config.json for ${overridden.join(", ")}`
    : catalog;
}

export interface BuildReportOptions {
  /** Real path of the workspace root. */
  workspaceRoot: string;
  /** The delegate dir (mini-projects), absolute or relative to the workspace root. */
  dir: string;
  project: string;
  config: Config;
  /** The project's tasks as the task store knows them. */
  tasks: readonly SavingsTaskInput[];
  /** Stamped into LOG.md; defaults to the current time. */
  now?: Date;
  /** Refuse (UserError) a project with no tasks and no records instead of reporting zeros. */
  refuseEmpty?: boolean;
}

/**
 * savings_report and `delegate-mcp report`: one project's report from its tasks in the store and
 * its ledger records, LOG.md written; a project with neither is refused (a typo, most likely).
 */
export async function projectReport(
  ws: Workspace,
  store: TaskStore,
  config: Config,
  project: string,
): Promise<BuiltReport & { logRel: string }> {
  const { tasks } = await store.list({ project });
  const built = await buildSavingsReport({
    workspaceRoot: ws.root,
    dir: ws.dir,
    project,
    config,
    tasks: tasks.map((t) => ({ id: t.id, status: t.status, estimate: t.estimate })),
    refuseEmpty: true,
  });
  return { ...built, logRel: `${ws.dirRel}/${project}/${LOG_FILE}` };
}

export interface BuiltReport {
  report: SavingsReport;
  markdown: string;
  /** Absolute path of the LOG.md written. */
  logPath: string;
}

/**
 * Read the ledger, price the counterfactual at the planner's rates, compute the project's savings
 * and write `<dir>/<project>/LOG.md` atomically (temp file + rename), keeping the Learnings
 * section the user wrote in the previous one.
 */
export async function buildSavingsReport(opts: BuildReportOptions): Promise<BuiltReport> {
  if (!SLUG_RE.test(opts.project)) {
    throw new UserError(`project "${opts.project}" must be a lowercase slug like split-todoist.`, "project");
  }
  const dir = resolve(opts.workspaceRoot, opts.dir);
  const inWorkspace = (p: string) => relative(opts.workspaceRoot, p) || ".";
  const ledgerPath = await safePath(opts.workspaceRoot, inWorkspace(join(dir, LEDGER_FILE)), "ledger");
  const logPath = await safePath(
    opts.workspaceRoot,
    inWorkspace(join(dir, opts.project, LOG_FILE)),
    "project",
  );

  const planner = plannerModel(opts.config);
  const [read, plannerPrice, prices, previous] = await Promise.all([
    new Ledger(ledgerPath.abs).read({ project: opts.project }),
    priceOf(planner),
    pricesLabel(opts.config),
    readFile(logPath.abs, "utf8").catch(() => ""),
  ]);
  if (opts.refuseEmpty && opts.tasks.length === 0 && read.entries.length === 0) {
    // A typo must not create a phantom project with an empty LOG.md.
    throw new UserError(`project "${opts.project}" has no tasks and no ledger records.`, "project");
  }
  const report = computeSavings({
    project: opts.project,
    entries: read.entries,
    plannerModel: planner.model,
    plannerPrice,
    tasks: opts.tasks,
    warnings: read.warnings,
    catalog: prices,
  });
  const learnings = extractLearnings(previous);
  const markdown = renderLogMarkdown(report, {
    generatedAt: (opts.now ?? new Date()).toISOString(),
    ...(learnings ? { learnings } : {}),
  });
  await writeAtomically(logPath.abs, markdown);
  return { report, markdown, logPath: logPath.abs };
}

/** Readers see the old file or the new one, never half of one. */
async function writeAtomically(path: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, text);
  } catch (err) {
    throw writeFailure(path, err);
  }
}
