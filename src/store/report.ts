import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { plannerModel, type ResolvedModel, resolveModel } from "../config/models.js";
import { catalogVersion, priceOf, priceOfAnyModel, priceOfModelId } from "../config/price-catalog.js";
import type { Config } from "../config/schema.js";
import { UserError } from "../core/errors.js";
import type { LedgerEntry, LedgerPhase, LedgerSource } from "../core/ledger-entry.js";
import { SLUG_RE } from "../core/mini-task.js";
import { costOf, type Price } from "../core/pricing.js";
import { CHART_FILE, renderSvg, savingsOverTime, withPicture } from "../core/report-chart.js";
import { extractLearnings, renderLogMarkdown } from "../core/report-render.js";
import { computeSavings, type SavingsInput, type SessionTurn } from "../core/savings.js";
import type { SavingsReport } from "../core/savings-report.js";
import type { SavingsTaskInput } from "../core/savings-tasks.js";
import type { Usage } from "../core/usage.js";
import { writeFileAtomic } from "./atomic.js";
import { LEDGER_FILE, Ledger, ledgerAt } from "./ledger.js";
import { indexOf, type ProjectRecords } from "./ledger-index.js";
import { importPlannerUsage, type PlannerImport } from "./planner-usage.js";
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
  origin?: LedgerEntry["origin"];
  note?: string;
  escalation?: boolean;
  error?: string;
  billing?: LedgerEntry["billing"];
}

/**
 * log_tokens: record usage the server cannot see (the planner's own phases, or a baseline
 * estimate). Any model id is kept: a configured or built-in alias, else the id as given, priced
 * from the catalog when it knows it (cost_usd null otherwise). `model` defaults to defaults.planner.
 */
export async function logTokens(
  ws: Workspace,
  config: Config,
  args: {
    project: string;
    phase: LedgerPhase;
    model?: string | undefined;
    usage: Usage;
    task_id?: string | undefined;
    note?: string | undefined;
  },
): Promise<{ cost_usd: number | null; model: string }> {
  if (args.task_id && !args.task_id.startsWith(`${args.project}/`)) {
    throw new UserError(
      `task_id ${args.task_id} is not in project ${args.project}; give that project or drop task_id.`,
      "task_id",
    );
  }
  const common = {
    project: args.project,
    phase: args.phase,
    usage: args.usage,
    source: args.phase === "baseline_estimate" ? ("estimated" as const) : ("reported" as const),
    now: new Date(),
    ...(args.task_id ? { task: args.task_id } : {}),
    ...(args.note ? { note: args.note } : {}),
  };
  let entry: LedgerEntry;
  const known = args.model === undefined ? plannerModel(config) : knownModel(config, args.model);
  if (known) entry = await pricedEntry({ ...common, model: known });
  else {
    // Not one of ours (e.g. gemini-2.5-pro): kept under its own id, priced if the catalog knows it.
    const id = args.model!;
    entry = entryOf(
      { ...common, model: id, provider: "unknown" },
      costOf(args.usage, await priceOfModelId(id)),
    );
  }
  entry.origin = "log_tokens";
  await ledgerAt(ws.dir).append(entry);
  return { cost_usd: entry.cost_usd, model: entry.model };
}

function knownModel(config: Config, name: string): ResolvedModel | null {
  try {
    return resolveModel(config, name);
  } catch (err) {
    if (err instanceof UserError) return null;
    throw err;
  }
}

/** A ledger record for `usage` on `model`, priced now (cost_usd null when no price is known). */
export async function pricedEntry(r: UsageRecord): Promise<LedgerEntry> {
  return entryOf(
    { ...r, model: r.model.model, provider: r.model.provider },
    await priceEntry(r.model, r.usage),
  );
}

function entryOf(
  r: Omit<UsageRecord, "model"> & { model: string; provider: string },
  cost: number | null,
): LedgerEntry {
  return {
    ts: r.now.toISOString(),
    project: r.project,
    ...(r.task !== undefined ? { task: r.task } : {}),
    ...(r.attempt !== undefined ? { attempt: r.attempt } : {}),
    phase: r.phase,
    model: r.model,
    provider: r.provider,
    input_tokens: r.usage.input_tokens,
    output_tokens: r.usage.output_tokens,
    cache_read_tokens: r.usage.cache_read_tokens,
    cache_write_tokens: r.usage.cache_write_tokens,
    cost_usd: cost,
    source: r.source,
    ...(r.origin !== undefined ? { origin: r.origin } : {}),
    ...(r.note !== undefined ? { note: r.note } : {}),
    ...(r.escalation !== undefined ? { escalation: r.escalation } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
    ...(r.billing !== undefined ? { billing: r.billing } : {}),
  };
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
  /** The server's environment: when it names a Claude Code session, its transcript is imported first. */
  env?: NodeJS.ProcessEnv;
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
  env?: NodeJS.ProcessEnv,
): Promise<BuiltReport & { logRel: string }> {
  const { tasks } = await store.list({ project });
  const built = await buildSavingsReport({
    workspaceRoot: ws.root,
    dir: ws.dir,
    project,
    config,
    tasks: tasks.map((t) => ({ id: t.id, status: t.status, estimate: t.estimate })),
    refuseEmpty: true,
    ...(env ? { env } : {}),
  });
  return { ...built, logRel: `${ws.dirRel}/${project}/${LOG_FILE}` };
}

export interface BuiltReport {
  report: SavingsReport;
  markdown: string;
  /** Absolute path of the LOG.md written. */
  logPath: string;
  /** What the planner-usage import did (absent when no environment was given). */
  plannerImport?: PlannerImport;
}

/**
 * Read the project's records (the ledger index: its shard, plus what was appended since), price
 * the counterfactual at the planner's rates, compute the project's savings
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
  const ledger = new Ledger(ledgerPath.abs);
  // Before reading: the transcript's new messages land in the ledger first.
  const imported = opts.env
    ? await importPlannerUsage({ config: opts.config, env: opts.env, ledger })
    : undefined;
  const [records, plannerPrice, prices, previous] = await Promise.all([
    // The project's shard of the ledger index; the whole ledger only when another process holds it.
    // The index is a derived cache: where it cannot be written (read-only, disk full), read the ledger.
    indexOf(ledgerPath.abs)
      .read(opts.project)
      .catch((err: unknown) => {
        if (writeFailure(ledgerPath.abs, err) instanceof UserError) return undefined;
        throw err;
      })
      .then((r) => r ?? readWhole(ledger, opts.project)),
    priceOf(planner),
    pricesLabel(opts.config),
    readFile(logPath.abs, "utf8").catch(() => ""),
  ]);
  const entries = records.entries;
  if (opts.refuseEmpty && opts.tasks.length === 0 && entries.length === 0) {
    // A typo must not create a phantom project with an empty LOG.md.
    throw new UserError(`project "${opts.project}" has no tasks and no ledger records.`, "project");
  }
  const sessions = new Set(entries.filter((e) => e.origin === "client-transcript").map((e) => e.session));
  const sessionTurns: SessionTurn[] = [];
  const modelPrices: Record<string, Price | null> = {};
  for (const e of records.transcript) {
    if (!e.session || !sessions.has(e.session)) continue;
    if (!e.sidechain) sessionTurns.push({ session: e.session, ts: e.ts, project: e.project, phase: e.phase });
    if (e.project === opts.project && !(e.model in modelPrices))
      modelPrices[e.model] = await priceOfAnyModel(opts.config, e.model);
  }
  const input: SavingsInput = {
    project: opts.project,
    entries,
    plannerModel: planner.model,
    plannerPrice,
    modelPrices,
    sessionTurns,
    ...(imported?.note ? { plannerNote: imported.note } : {}),
    tasks: opts.tasks,
    warnings: records.entries.some((e) => e.provider === "scripted")
      ? [...records.warnings, SCRIPTED_WARNING]
      : records.warnings,
    moreWarnings: records.moreWarnings,
    catalog: prices,
  };
  const report = computeSavings(input);
  const learnings = extractLearnings(previous);
  const markdown = withPicture(
    renderLogMarkdown(report, {
      generatedAt: (opts.now ?? new Date()).toISOString(),
      ...(learnings ? { learnings } : {}),
    }),
  );
  // The picture first: LOG.md never points at a picture that is not there. Its cumulative line is
  // the same computation over the ledger as it stood after each task (at most MAX_SAVINGS_POINTS of them: each is one more computation).
  await writeAtomically(
    join(dirname(logPath.abs), CHART_FILE),
    renderSvg(report, savingsOverTime(input, report)),
  );
  await writeAtomically(logPath.abs, markdown);
  return { report, markdown, logPath: logPath.abs, ...(imported ? { plannerImport: imported } : {}) };
}

/** Said in every report a scripted (keyless try-out) attempt is part of. */
export const SCRIPTED_WARNING =
  "scripted executor, not a model: its execution tokens are counted locally and cost $0, so these savings are not a model's.";

/** The index's answer, from a full read of the ledger. */
async function readWhole(ledger: Ledger, project: string): Promise<ProjectRecords> {
  const read = await ledger.read();
  return {
    entries: read.entries.filter((e) => e.project === project),
    transcript: read.entries.filter((e) => e.origin === "client-transcript"),
    warnings: read.warnings,
    moreWarnings: 0,
  };
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
