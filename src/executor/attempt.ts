/**
 * One attempt of one task, start to finish, as named phases: open its worktree, read the context
 * the spec names, run the executor, enforce the spec's scope, judge it (server-side validation),
 * persist. Never throws: a failure becomes the attempt's status, and what the phases before it
 * did (tokens spent, commits made) is still recorded.
 * Over 400 lines because the phases share one attempt record and are meant to be read in order;
 * the in-process loop and the CLI executors (cli-executor.ts) branch inside "run the executor".
 * What is not a phase lives beside it: the result the planner reads (attempt-result.ts), commits
 * (attempt-commit.ts), the ledger record of each model call (executor-usage.ts).
 */
import { readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { executorModel, type ResolvedModel } from "../config/models.js";
import { priceOf } from "../config/price-catalog.js";
import type { Config } from "../config/schema.js";
import { packContext } from "../core/context.js";
import { messageOf, UserError } from "../core/errors.js";
import type { StoredTask, TaskStatus } from "../core/mini-task.js";
import { costOf, type Price } from "../core/pricing.js";
import { shorten } from "../core/render.js";
import { transition } from "../core/status.js";
import type { Usage } from "../core/usage.js";
import { log } from "../log.js";
import { DEFAULT_TIMEOUT_MS } from "../providers/create.js";
import type { ChatModel } from "../providers/types.js";
import type { Ledger } from "../store/ledger.js";
import { safePath } from "../store/safe-path.js";
import type { TaskStore } from "../store/tasks.js";
import { readTemplate } from "../store/templates.js";
import type { Workspace } from "../store/workspace.js";
import { validationOptions } from "../validation/options.js";
import { DEFAULT_TIMEOUT_CEILING_S, runValidation, type ValidationRun } from "../validation/runner.js";
import { commitAll, commitAndList, revertPaths, undoEditsSinceCommit } from "./attempt-commit.js";
import {
  plannerReport,
  STORED_ERROR_CHARS,
  storedReport,
  summarizeValidation,
  type TaskResult,
} from "./attempt-result.js";
import { runCliExecutor } from "./cli-executor.js";
import { type CallExtra, recordExecutorCall } from "./executor-usage.js";
import { DEFAULT_MAX_TURNS, type LoopOutcome, runLoop } from "./loop.js";
import { ExecutorTools } from "./scope.js";
import { createWorktree, type WorktreeInfo } from "./worktree.js";

export interface AttemptOptions {
  maxTurns?: number | undefined;
  maxFixRounds?: number | undefined;
  budgetUsd?: number | undefined;
  signal: AbortSignal;
  /** One line per step (turn, validation), for MCP progress notifications. */
  onProgress?: (message: string) => void;
}

/** Where a task's worktree starts: HEAD, a dependency's branch, or nowhere (blocked, with why). */
export interface AttemptBase {
  fromBranch?: string;
  blocked?: string;
}

/** Runs `fn` when the gate lets it: a bound on how many run at once. */
export type Gate = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * How a dispatch's concurrency limit bounds its attempts' phases. Only the executor session waits
 * on the model, so an attempt holds a session only while its executor runs: the next attempt's
 * worktree is already open when a session ends, and the server's check of a finished attempt
 * (scope, validation) runs while the next session talks to the model.
 */
export interface AttemptGates {
  /** Around opening the worktree and the executor session: how far ahead attempts prepare. */
  window: Gate;
  /** Around the executor session: executors talking to the model at once. */
  session: Gate;
  /** Around the server's own check (scope, validation): local work at once. */
  check: Gate;
}

/** What the dispatch shares with each of its attempts. */
export interface AttemptContext {
  ws: Workspace;
  store: TaskStore;
  config: Config;
  env: NodeJS.ProcessEnv;
  ledger: Ledger;
  now: () => Date;
  /** The repository's top level. */
  repo: () => Promise<string>;
  /** HEAD when the dispatch was prepared: every task of the batch starts from the same commit. */
  head: string | undefined;
  /** The client for a model, shared by the dispatch's attempts. */
  modelFor: (model: ResolvedModel) => Promise<ChatModel>;
  /** Where the task starts, from its dependencies' outcome. */
  baseFor: (task: StoredTask) => Promise<AttemptBase>;
  gates: AttemptGates;
}

export interface AttemptRequest {
  id: string;
  /** The attempt's number (its record already exists, status running). */
  n: number;
  /** The model asked for; the task's own model otherwise. */
  modelName: string | undefined;
  opts: AttemptOptions;
  /** Set on an escalation: the attempt it retries. */
  escalationOf?: number | undefined;
}

/** Where the attempt works: its worktree, and the workspace's place inside the repository. */
interface Place {
  wt: WorktreeInfo;
  /** The workspace directory inside the worktree. */
  wsInWt: string;
  /** The workspace's path inside the repository ("" or "packages/api/"). */
  prefix: string;
  /** How many directories deep the workspace is in the repository. */
  depth: number;
}

/** Filled in as the phases finish, so a failure midway still persists what was done. */
interface AttemptState {
  outcome?: LoopOutcome;
  validation?: ValidationRun;
  files: TaskResult["files_changed"];
  outOfScope: string[];
  refused: string[];
  head: string | null;
}

export async function runAttempt(ctx: AttemptContext, req: AttemptRequest): Promise<TaskResult> {
  const { id, n, opts } = req;
  const task = await ctx.store.get(id);
  const resolved = executorModel(ctx.config, req.modelName ?? task.model);
  const price = await priceOf(resolved);
  const progress = (m: string) => opts.onProgress?.(`${id}: ${m}`);
  const state: AttemptState = { files: [], outOfScope: [], refused: [], head: null };
  let status: TaskStatus;
  let error: string | undefined;

  try {
    const base = await ctx.baseFor(task);
    if (base.blocked) {
      status = "blocked";
      error = base.blocked;
    } else {
      const { gates } = ctx;
      const { place, tools, validate, outcome } = await gates.window(async () => {
        const place = await openWorktree(ctx, task, n, base);
        const validate = () =>
          runValidation(task.validation, {
            cwd: place.wsInWt,
            env: ctx.env,
            ...validationOptions(ctx.config),
            signal: opts.signal,
            onProgress: (e) => {
              if (e.phase === "start") progress(`validation ${e.index + 1}/${e.total}: ${e.run}`);
            },
          });
        const tools = new ExecutorTools(place.wsInWt, task, ctx.ws.dirRel, validate);
        // A CLI executor (claude-code, codex) has no ChatModel: the user's own CLI makes the calls.
        const model = resolved.cli ? undefined : await ctx.modelFor(resolved);
        const texts = await readContext(task, place.wsInWt);
        const outcome = await gates.session(() =>
          runExecutor(ctx, req, task, {
            model,
            resolved,
            price,
            tools,
            texts,
            progress,
            cwd: place.wsInWt,
          }),
        );
        return { place, tools, validate, outcome };
      });
      state.outcome = outcome;
      state.refused = tools.refused;
      ({ status, error } = await gates.check(async () => {
        await enforceScope(state, place, tools.modify, `delegate: ${id} attempt ${n}`);
        return judge(state, outcome, tools, validate, opts.signal, progress, place);
      }));
    }
  } catch (err) {
    status = opts.signal.aborted ? "cancelled" : "error";
    error = messageOf(err);
    if (!(err instanceof UserError))
      log.error(`dispatch of ${id} failed`, { error: error, stack: (err as Error)?.stack });
  }
  return persist(ctx, id, n, resolved, price, state, status, error, progress);
}

/** Phase 1: the attempt's worktree (from HEAD or a dependency's branch), recorded on the attempt. */
async function openWorktree(
  ctx: AttemptContext,
  task: StoredTask,
  n: number,
  base: AttemptBase,
): Promise<Place> {
  const repo = await ctx.repo();
  const wt = await createWorktree(repo, task.id, {
    attempt: n,
    ...(base.fromBranch ? { fromBranch: base.fromBranch } : ctx.head ? { base: ctx.head } : {}),
  });
  const sub = relative(repo, ctx.ws.root).split(sep).filter(Boolean);
  const place: Place = {
    wt,
    wsInWt: join(wt.path, ...sub),
    prefix: sub.length ? `${sub.join("/")}/` : "",
    depth: sub.length,
  };
  await ctx.store.update(task.id, (t) => {
    const a = t.attempts.find((x) => x.n === n);
    if (a) Object.assign(a, { branch: wt.branch, worktree: place.wsInWt, base_commit: wt.base });
    return t;
  });
  return place;
}

/** Phase 2: the text of every file the spec names (as the worktree has it); unreadable ones are left out. */
async function readContext(task: StoredTask, wsInWt: string): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const f of [...task.files_to_read, ...task.files_to_modify]) {
    if (texts.has(f.path)) continue;
    try {
      texts.set(f.path, await readFile((await safePath(wsInWt, f.path)).abs, "utf8"));
    } catch {}
  }
  return texts;
}

/** Phase 3: the executor's tool loop, every model call priced into the ledger as it happens. */
async function runExecutor(
  ctx: AttemptContext,
  req: AttemptRequest,
  task: StoredTask,
  run: {
    model: ChatModel | undefined;
    resolved: ResolvedModel;
    price: Price | null;
    tools: ExecutorTools;
    texts: Map<string, string>;
    progress: (m: string) => void;
    /** The workspace inside the worktree: where a CLI executor runs. */
    cwd: string;
  },
): Promise<LoopOutcome> {
  const { id, n, opts, escalationOf } = req;
  const packed = packContext(task, run.texts);
  const limits = ctx.config.limits ?? {};
  const budgetUsd = opts.budgetUsd ?? limits.budget_usd;
  const bounds = {
    price: run.price,
    system: await readTemplate("executor-system.md"),
    user: packed.user,
    tools: run.tools,
    maxTurns: opts.maxTurns ?? limits.max_turns ?? DEFAULT_MAX_TURNS,
    maxFixRounds: opts.maxFixRounds ?? limits.max_fix_rounds ?? 0,
    budgetUsd,
    signal: opts.signal,
    onTurn: (turn: number, max: number) => {
      run.progress(`turn ${turn}/${max} on ${run.resolved.alias}`);
      // Live for get_task (wait:false): the turn count on the running attempt.
      void ctx.store
        .update(id, (t) => {
          const a = t.attempts.find((x) => x.n === n);
          if (a && a.status === "running") a.turns = turn;
          return t;
        })
        .catch((err) => log.debug(`turn update of ${id} failed: ${messageOf(err)}`));
    },
  };
  const escalation = escalationOf ? { escalation: true } : {};
  const record = (usage: Usage, extra: CallExtra) =>
    recordExecutorCall(
      { ledger: ctx.ledger, now: ctx.now(), task, attempt: n, model: run.resolved, usage },
      extra,
    );
  if (!run.model) {
    return runCliExecutor({
      ...bounds,
      model: run.resolved,
      cwd: run.cwd,
      env: ctx.env,
      validationCommands: task.validation.map((v) => v.run),
      requestTimeoutMs: (limits.request_timeout_s ?? DEFAULT_TIMEOUT_MS / 1000) * 1000,
      // A run_validation call runs every command, each up to the ceiling.
      toolTimeoutMs:
        (limits.validation_timeout_ceiling_s ?? DEFAULT_TIMEOUT_CEILING_S) * 1000 * task.validation.length +
        60_000,
      onCall: (usage, note) => record(usage, { ...(note ? { note } : {}), ...escalation }),
    });
  }
  return runLoop({
    ...bounds,
    model: run.model,
    maxTokens: limits.max_tokens_per_task,
    onCall: (usage, err) => record(usage, { ...(err ? { error: err } : {}), ...escalation }),
  });
}

/**
 * Phase 4, the server's own check of scope: commit what the executor did, revert (as a second
 * commit) every file the spec does not list, and report files in workspace terms.
 */
async function enforceScope(
  state: AttemptState,
  place: Place,
  modify: ReadonlySet<string>,
  message: string,
): Promise<void> {
  const { wt, prefix, depth } = place;
  const committed = await commitAndList(wt, message);
  state.head = committed.head;
  // git speaks repository paths; the spec speaks workspace paths (the same unless the
  // workspace is a subdirectory of the repository, e.g. a package in a monorepo).
  const allowed = new Set([...modify].map((p) => `${prefix}${p}`));
  state.outOfScope = committed.files.filter((c) => !allowed.has(c.path)).map((c) => c.path);
  if (state.outOfScope.length) {
    // Rare: undo what the executor should not have touched, as a second commit on the branch.
    await revertPaths(wt, state.outOfScope);
    state.head = (await commitAll(wt, `${message}: revert out-of-scope changes`)) ?? state.head;
    if (state.head && committed.files.every((c) => !allowed.has(c.path))) state.head = null;
  }
  state.files = committed.files
    .filter((c) => allowed.has(c.path))
    .map((c) => ({ path: c.path.slice(prefix.length), added: c.added, removed: c.removed }));
  state.outOfScope = state.outOfScope.map((p) =>
    p.startsWith(prefix) ? p.slice(prefix.length) : `${"../".repeat(depth)}${p}`,
  );
}

/** Phase 5: the attempt's status, from the loop's outcome and the server's validation run. */
async function judge(
  state: AttemptState,
  outcome: LoopOutcome,
  tools: ExecutorTools,
  validate: () => Promise<ValidationRun>,
  signal: AbortSignal,
  progress: (m: string) => void,
  place: Place,
): Promise<{ status: TaskStatus; error: string | undefined }> {
  if (outcome.status === "cancelled" || signal.aborted) {
    return { status: "cancelled", error: outcome.error ?? "cancelled" };
  }
  if (outcome.status === "error") return { status: "error", error: outcome.error };
  // The executor's run_validation was the server's own run: when nothing changed since
  // (no write after it, nothing reverted), it is the check; otherwise run it again.
  const fresh = state.outOfScope.length === 0 ? tools.freshValidation : undefined;
  if (fresh) {
    progress("server-side validation: the run after the last edit stands");
    state.validation = fresh;
  } else {
    progress("server-side validation");
    state.validation = await validate();
    // Validated code must be accepted code: a check that edits the committed files fails.
    const edited = await undoEditsSinceCommit(place.wt);
    if (edited.length > 0 && !signal.aborted) {
      const files = edited.map((p) => (p.startsWith(place.prefix) ? p.slice(place.prefix.length) : p));
      const why = `validation changed files (${shorten(files.join(", "), 300)}); a validation command must only check (drop --fix, sed -i, --write), so the accepted code is the code it checked. The edits were undone.`;
      // Shown where the planner looks for why validation failed.
      state.validation = {
        passed: false,
        results: [
          ...state.validation.results,
          {
            run: "(server check: validation leaves the attempt's files as committed)",
            passed: false,
            exit_code: null,
            timed_out: false,
            duration_ms: 0,
            output: why,
          },
        ],
      };
      return { status: "failed", error: why };
    }
  }
  const status: TaskStatus = signal.aborted
    ? "cancelled"
    : outcome.status === "budget_exceeded"
      ? "budget_exceeded"
      : state.validation.passed
        ? "passed"
        : "failed";
  return { status, error: outcome.error };
}

/** Phase 6: the attempt's final record and the task's status, then the planner's view of it. */
async function persist(
  ctx: AttemptContext,
  id: string,
  n: number,
  resolved: ResolvedModel,
  price: Price | null,
  state: AttemptState,
  status: TaskStatus,
  error: string | undefined,
  progress: (m: string) => void,
): Promise<TaskResult> {
  const { outcome, validation, files, outOfScope, refused, head } = state;
  const usage = outcome?.usage ?? {
    input_tokens: 0,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
  };
  const cost = costOf(usage, price);
  const report = storedReport(status, error, outcome?.report);
  const summary = summarizeValidation(validation);
  await ctx.store.update(
    id,
    (t) => {
      const a = t.attempts.find((x) => x.n === n);
      if (a) {
        Object.assign(a, {
          status,
          finished_at: ctx.now().toISOString(),
          turns: outcome?.turns ?? 0,
          usage: { ...usage, cost_usd: cost, model: resolved.alias },
          files_changed: files,
          out_of_scope: outOfScope,
          refused,
          report,
          ...(validation ? { validation: summary } : {}),
          ...(error ? { error: shorten(error, STORED_ERROR_CHARS) } : {}),
          ...(head ? { head_commit: head } : {}),
        });
      }
      t.status = transition(t.status, status, t.id);
      return t;
    },
    ctx.now(),
  );
  progress(`attempt ${n}: ${status}`);
  return {
    task_id: id,
    status,
    attempt: n,
    files_changed: files,
    validation: summary,
    usage: { ...usage, cost_usd: cost, model: resolved.alias },
    report: plannerReport(status, error, outcome?.report, report),
    ...(outOfScope.length ? { out_of_scope: outOfScope } : {}),
  };
}
