import { readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { executorModel, type ResolvedModel } from "../config/models.js";
import { priceOf } from "../config/price-catalog.js";
import type { Config } from "../config/schema.js";
import { packContext } from "../core/context.js";
import { messageOf, UserError } from "../core/errors.js";
import type { Attempt, StoredTask, TaskStatus } from "../core/mini-task.js";
import { costOf } from "../core/pricing.js";
import { shorten, tail } from "../core/render.js";
import type { Usage } from "../core/usage.js";
import { log } from "../log.js";
import { assertKeyDestination, createChatModel, resolveClientSettings } from "../providers/create.js";
import type { ChatModel } from "../providers/types.js";
import { LEDGER_FILE, Ledger } from "../store/ledger.js";
import { claimRun, releaseRun } from "../store/recovery.js";
import { pricedEntry } from "../store/report.js";
import { safePath } from "../store/safe-path.js";
import type { TaskStore } from "../store/tasks.js";
import { readTemplate } from "../store/templates.js";
import type { Workspace } from "../store/workspace.js";
import { validationOptions } from "../validation/options.js";
import { runValidation, type ValidationRun } from "../validation/runner.js";
import { latestRun } from "./locate.js";
import { DEFAULT_MAX_TURNS, type LoopOutcome, runLoop } from "./loop.js";
import { ExecutorTools } from "./scope.js";
import {
  commitAll,
  commitAndList,
  createWorktree,
  gitRoot,
  headCommit,
  revertPaths,
  type WorktreeInfo,
} from "./worktree.js";

export const DEFAULT_CONCURRENCY = 4;
/** Output tail kept per failing command in the planner's result (≈ 1,500 tokens budget overall). */
export const FAILED_OUTPUT_CHARS = 1800;
/** The executor's report as the planner sees it in a dispatch result. */
export const REPORT_CHARS = 400;

export interface DispatchOptions {
  model?: string | undefined;
  maxTurns?: number | undefined;
  maxFixRounds?: number | undefined;
  budgetUsd?: number | undefined;
  escalateTo?: string | undefined;
  concurrency?: number | undefined;
  signal: AbortSignal;
  /** One line per step (turn, validation), for MCP progress notifications. */
  onProgress?: (message: string) => void;
}

export interface DispatchDeps {
  ws: Workspace;
  store: TaskStore;
  config: Config;
  /** The workspace's own config file when the config came from it (not the user's): it is not trusted with keys. */
  workspaceConfigPath?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Makes the ChatModel; tests and the demo swap in other factories. */
  createModel?: (model: ResolvedModel, env: NodeJS.ProcessEnv) => Promise<ChatModel>;
  now?: () => Date;
}

export interface TaskResult {
  task_id: string;
  status: TaskStatus;
  attempt: number;
  files_changed: { path: string; added: number; removed: number }[];
  validation: {
    passed: boolean;
    ran: number;
    failed?: { run: string; exit_code: number | null; output: string }[];
  };
  usage: Usage & { cost_usd: number | null; model: string };
  report: string;
  out_of_scope?: string[];
  escalated_from?: string;
}

const RERUNNABLE: ReadonlySet<TaskStatus> = new Set([
  "ready",
  "failed",
  "budget_exceeded",
  "cancelled",
  "error",
  "blocked",
  "passed",
  "discarded",
]);

/** A small semaphore: at most `n` tasks run their attempts at once. */
function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

export function summarizeValidation(run: ValidationRun | undefined): TaskResult["validation"] {
  if (!run) return { passed: false, ran: 0 };
  const ran = run.results.filter((r) => !r.skipped).length;
  if (run.passed) return { passed: true, ran };
  const failed = run.results
    .filter((r) => !r.passed && !r.skipped)
    .map((r) => ({
      run: r.run,
      exit_code: r.exit_code,
      output: tail(`${r.error ? `${r.error}\n` : ""}${r.output}`, FAILED_OUTPUT_CHARS),
    }));
  return { passed: false, ran, failed };
}

/**
 * Check what can be dispatched before anything runs: ids exist, statuses allow a run, and every
 * dependency is either accepted, passed, or in this batch.
 */
async function plan(store: TaskStore, ids: string[]): Promise<StoredTask[]> {
  const unique = [...new Set(ids)];
  const tasks: StoredTask[] = [];
  for (const id of unique) {
    const task = await store.get(id);
    if (!RERUNNABLE.has(task.status)) {
      throw new UserError(
        `task_id ${id} is ${task.status}; ${task.status === "running" ? "wait for it (get_task shows progress)" : "create a new task to change it further"}.`,
        "task_ids",
      );
    }
    tasks.push(task);
  }
  // A dependency outside the batch must have run already; one that ran and failed blocks its
  // dependent (DESIGN), but one that never ran is the caller's to fix.
  const batch = new Set(unique);
  for (const task of tasks) {
    for (const dep of task.depends_on) {
      if (batch.has(dep)) continue;
      const status = (await store.get(dep)).status;
      if (status === "ready" || status === "discarded" || status === "cancelled") {
        throw new UserError(
          `task_ids: ${task.id} depends on ${dep}, which is ${status}; add ${dep} to task_ids or dispatch it first.`,
          "task_ids",
        );
      }
      if (status === "running") {
        throw new UserError(
          `task_ids: ${task.id} depends on ${dep}, which is still running; wait for it (get_task).`,
          "task_ids",
        );
      }
    }
  }
  return tasks;
}

/** Run tasks on the executor: independent ones in parallel, dependents after their dependencies. */
export class Dispatcher {
  private readonly ledger: Ledger;
  private readonly now: () => Date;
  private repoRoot: Promise<string> | undefined;
  /** HEAD when the dispatch was prepared: every task of the batch starts from the same commit. */
  private head: string | undefined;

  constructor(private readonly deps: DispatchDeps) {
    this.ledger = new Ledger(join(deps.ws.dir, LEDGER_FILE));
    this.now = deps.now ?? (() => new Date());
  }

  private readonly models = new Map<string, Promise<ChatModel>>();

  /** One client per model for the whole dispatch: parallel attempts share its connection pool. */
  private modelFor(resolved: ResolvedModel): Promise<ChatModel> {
    const key = `${resolved.alias}\0${resolved.model}\0${resolved.baseURL ?? ""}`;
    let model = this.models.get(key);
    if (!model) {
      const timeoutS = this.deps.config.limits?.request_timeout_s;
      model = (this.deps.createModel ?? ((m, e) => defaultCreateModel(m, e, timeoutS)))(
        resolved,
        this.deps.env,
      );
      this.models.set(key, model);
      model.catch(() => this.models.delete(key));
    }
    return model;
  }

  /** The repository's top level, asked of git once per dispatch. */
  private repo(): Promise<string> {
    this.repoRoot ??= gitRoot(this.deps.ws.root);
    return this.repoRoot;
  }

  /** Validates the request and marks every task running; `run()` then does the work. */
  async prepare(
    ids: string[],
    opts: DispatchOptions,
  ): Promise<{ tasks: StoredTask[]; attempts: Map<string, number> }> {
    const repo = await this.repo();
    this.head = await headCommit(repo);
    executorModel(this.deps.config, opts.model);
    const escalation = opts.escalateTo ? executorModel(this.deps.config, opts.escalateTo) : undefined;
    const tasks = await plan(this.deps.store, ids);
    // A missing key is the caller's to fix: say so before any task is marked running.
    if (!this.deps.createModel) {
      const models = tasks.map((t) => executorModel(this.deps.config, opts.model ?? t.model));
      for (const m of [...models, ...(escalation ? [escalation] : [])]) {
        resolveClientSettings(m, { env: this.deps.env });
        if (this.deps.workspaceConfigPath)
          assertKeyDestination(m, this.deps.env, this.deps.workspaceConfigPath);
      }
    }
    const attempts = new Map<string, number>();
    for (const task of tasks) {
      const model = executorModel(this.deps.config, opts.model ?? task.model);
      // Claimed before it shows as running, so a start-up repair elsewhere can tell it is alive.
      await claimRun(this.deps.ws, task.id);
      const updated = await this.deps.store.update(
        task.id,
        (t) => {
          const n = t.attempts.length + 1;
          t.attempts.push(this.newAttempt(n, model));
          t.status = "running";
          return t;
        },
        this.now(),
      );
      attempts.set(task.id, updated.attempts.length);
    }
    return { tasks, attempts };
  }

  private newAttempt(n: number, model: ResolvedModel, escalationOf?: number): Attempt {
    return {
      n,
      status: "running",
      model: model.alias,
      provider: model.provider,
      started_at: this.now().toISOString(),
      turns: 0,
      usage: {
        input_tokens: 0,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        cost_usd: 0,
        model: model.alias,
      },
      files_changed: [],
      out_of_scope: [],
      refused: [],
      ...(escalationOf ? { escalation_of: escalationOf } : {}),
    };
  }

  async run(
    tasks: StoredTask[],
    attempts: Map<string, number>,
    opts: DispatchOptions,
  ): Promise<TaskResult[]> {
    const limit = limiter(opts.concurrency ?? this.deps.config.limits?.concurrency ?? DEFAULT_CONCURRENCY);
    const inBatch = new Map(tasks.map((t) => [t.id, t]));
    const done = new Map<string, Promise<TaskResult>>();
    const runOne = (task: StoredTask): Promise<TaskResult> => {
      let p = done.get(task.id);
      if (!p) {
        p = (async () => {
          // Dependencies in the batch finish first; baseFor then reads their outcome from the store.
          await Promise.all(
            task.depends_on.filter((d) => inBatch.has(d)).map((d) => runOne(inBatch.get(d)!)),
          );
          return limit(() => this.runTask(task.id, attempts.get(task.id)!, opts)).finally(() =>
            releaseRun(this.deps.ws, task.id).catch((err) =>
              log.warn(`could not remove the run marker of ${task.id}: ${messageOf(err)}`),
            ),
          );
        })();
        done.set(task.id, p);
      }
      return p;
    };
    return Promise.all(tasks.map(runOne));
  }

  /** Where a task's worktree starts: HEAD, or the branch of the one passed-but-unaccepted dependency. */
  private async baseFor(task: StoredTask): Promise<{ fromBranch?: string; blocked?: string }> {
    const unaccepted: { id: string; branch: string }[] = [];
    for (const dep of task.depends_on) {
      const d = await this.deps.store.get(dep);
      if (d.status === "accepted") continue;
      const branch = latestRun(d)?.branch;
      if (d.status === "passed" && branch) {
        unaccepted.push({ id: dep, branch });
        continue;
      }
      return { blocked: `dependency ${dep} is ${d.status}; it must pass (or be accepted) first.` };
    }
    if (unaccepted.length > 1) {
      return {
        blocked: `dependencies ${unaccepted.map((u) => u.id).join(", ")} are passed but not accepted; accept all but one first.`,
      };
    }
    return unaccepted[0] ? { fromBranch: unaccepted[0].branch } : {};
  }

  private async runTask(id: string, n: number, opts: DispatchOptions): Promise<TaskResult> {
    const first = await this.attempt(id, n, opts.model, opts);
    if (
      !opts.escalateTo ||
      first.status === "passed" ||
      first.status === "cancelled" ||
      first.status === "blocked"
    )
      return first;
    const escalated = executorModel(this.deps.config, opts.escalateTo);
    const updated = await this.deps.store.update(
      id,
      (t) => {
        t.attempts.push(this.newAttempt(t.attempts.length + 1, escalated, n));
        t.status = "running";
        return t;
      },
      this.now(),
    );
    opts.onProgress?.(`${id}: attempt ${n} ${first.status}; escalating to ${escalated.alias}`);
    const second = await this.attempt(id, updated.attempts.length, opts.escalateTo, opts, n);
    const firstCost = first.usage.cost_usd === null ? "cost unknown" : `$${first.usage.cost_usd.toFixed(4)}`;
    return {
      ...second,
      escalated_from: `attempt ${n} on ${first.usage.model}: ${first.status} (${firstCost})`,
    };
  }

  private async record(
    task: StoredTask,
    n: number,
    model: ResolvedModel,
    usage: Usage,
    extra: { error?: string; escalation?: boolean },
  ) {
    try {
      const entry = await pricedEntry({
        project: task.project,
        task: task.id,
        attempt: n,
        phase: "execution",
        model,
        usage,
        source: "measured",
        now: this.now(),
        ...extra,
      });
      await this.ledger.append(entry);
    } catch (err) {
      // Keep going: the attempt's own usage record still holds these tokens.
      log.error(`ledger append failed for ${task.id}: ${messageOf(err)}`);
    }
  }

  /** One attempt of one task, start to finish; never throws (errors become the attempt's status). */
  private async attempt(
    id: string,
    n: number,
    modelName: string | undefined,
    opts: DispatchOptions,
    escalationOf?: number,
  ): Promise<TaskResult> {
    const task = await this.deps.store.get(id);
    const resolved = executorModel(this.deps.config, modelName ?? task.model);
    const price = await priceOf(resolved);
    const progress = (m: string) => opts.onProgress?.(`${id}: ${m}`);
    let wt: WorktreeInfo | undefined;
    let outcome: LoopOutcome | undefined;
    let validation: ValidationRun | undefined;
    let files: TaskResult["files_changed"] = [];
    let outOfScope: string[] = [];
    let refused: string[] = [];
    let status: TaskStatus;
    let error: string | undefined;
    let head: string | null = null;
    /** The workspace's path inside the repository ("" or "packages/api/"), and the same dir in the worktree. */
    let prefix = "";
    let depth = 0;
    let wsInWt = "";

    try {
      const base = await this.baseFor(task);
      if (base.blocked) {
        status = "blocked";
        error = base.blocked;
      } else {
        const repo = await this.repo();
        wt = await createWorktree(repo, id, {
          attempt: n,
          ...(base.fromBranch ? { fromBranch: base.fromBranch } : this.head ? { base: this.head } : {}),
        });
        const sub = relative(repo, this.deps.ws.root).split(sep).filter(Boolean);
        prefix = sub.length ? `${sub.join("/")}/` : "";
        depth = sub.length;
        wsInWt = join(wt.path, ...sub);
        await this.deps.store.update(id, (t) => {
          const a = t.attempts.find((x) => x.n === n);
          if (a) Object.assign(a, { branch: wt!.branch, worktree: wsInWt, base_commit: wt!.base });
          return t;
        });
        const validate = () =>
          runValidation(task.validation, {
            cwd: wsInWt,
            env: this.deps.env,
            ...validationOptions(this.deps.config),
            signal: opts.signal,
            onProgress: (e) => {
              if (e.phase === "start") progress(`validation ${e.index + 1}/${e.total}: ${e.run}`);
            },
          });
        const tools = new ExecutorTools(wsInWt, task, this.deps.ws.dirRel, validate);
        const model = await this.modelFor(resolved);
        const texts = new Map<string, string>();
        for (const f of [...task.files_to_read, ...task.files_to_modify]) {
          if (texts.has(f.path)) continue;
          try {
            texts.set(f.path, await readFile((await safePath(wsInWt, f.path)).abs, "utf8"));
          } catch {}
        }
        const packed = packContext(task, texts);
        const limits = this.deps.config.limits ?? {};
        const budgetUsd = opts.budgetUsd ?? limits.budget_usd;
        outcome = await runLoop({
          model,
          price,
          system: await readTemplate("executor-system.md"),
          user: packed.user,
          tools,
          maxTurns: opts.maxTurns ?? limits.max_turns ?? DEFAULT_MAX_TURNS,
          maxFixRounds: opts.maxFixRounds ?? limits.max_fix_rounds ?? 0,
          budgetUsd,
          maxTokens: limits.max_tokens_per_task,
          signal: opts.signal,
          onTurn: (turn, max) => {
            progress(`turn ${turn}/${max} on ${resolved.alias}`);
            // Live for get_task (wait:false): the turn count on the running attempt.
            void this.deps.store
              .update(id, (t) => {
                const a = t.attempts.find((x) => x.n === n);
                if (a && a.status === "running") a.turns = turn;
                return t;
              })
              .catch((err) => log.debug(`turn update of ${id} failed: ${messageOf(err)}`));
          },
          onCall: (usage, err) =>
            this.record(task, n, resolved, usage, {
              ...(err ? { error: err } : {}),
              ...(escalationOf ? { escalation: true } : {}),
            }),
        });
        refused = tools.refused;

        // The server's own check: scope first, then validation — the executor's claim is never enough.
        const committed = await commitAndList(wt, `delegate: ${id} attempt ${n}`);
        head = committed.head;
        // git speaks repository paths; the spec speaks workspace paths (the same unless the
        // workspace is a subdirectory of the repository, e.g. a package in a monorepo).
        const allowed = new Set([...tools.modify].map((p) => `${prefix}${p}`));
        outOfScope = committed.files.filter((c) => !allowed.has(c.path)).map((c) => c.path);
        if (outOfScope.length) {
          // Rare: undo what the executor should not have touched, as a second commit on the branch.
          await revertPaths(wt, outOfScope);
          head = (await commitAll(wt, `delegate: ${id} attempt ${n}: revert out-of-scope changes`)) ?? head;
          if (head && committed.files.every((c) => !allowed.has(c.path))) head = null;
        }
        files = committed.files
          .filter((c) => allowed.has(c.path))
          .map((c) => ({ path: c.path.slice(prefix.length), added: c.added, removed: c.removed }));
        outOfScope = outOfScope.map((p) =>
          p.startsWith(prefix) ? p.slice(prefix.length) : `${"../".repeat(depth)}${p}`,
        );

        if (outcome.status === "cancelled" || opts.signal.aborted) {
          status = "cancelled";
          error = outcome.error ?? "cancelled";
        } else if (outcome.status === "error") {
          status = "error";
          error = outcome.error;
        } else {
          // The executor's run_validation was the server's own run: when nothing changed since
          // (no write after it, nothing reverted), it is the check; otherwise run it again.
          const fresh = outOfScope.length === 0 ? tools.freshValidation : undefined;
          if (fresh) {
            progress("server-side validation: the run after the last edit stands");
            validation = fresh;
          } else {
            progress("server-side validation");
            validation = await validate();
          }
          if (opts.signal.aborted) status = "cancelled";
          else if (outcome.status === "budget_exceeded") status = "budget_exceeded";
          else status = validation.passed ? "passed" : "failed";
          error = outcome.error;
        }
      }
    } catch (err) {
      status = opts.signal.aborted ? "cancelled" : "error";
      error = messageOf(err);
      if (!(err instanceof UserError))
        log.error(`dispatch of ${id} failed`, { error: error, stack: (err as Error)?.stack });
    }

    const usage = outcome?.usage ?? {
      input_tokens: 0,
      output_tokens: 0,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
    };
    const cost = costOf(usage, price);
    const report =
      outcome?.report ??
      (status === "blocked"
        ? `Blocked: ${error}`
        : error
          ? `No report: ${error}`
          : "The executor gave no report.");
    const summary = summarizeValidation(validation);
    await this.deps.store.update(
      id,
      (t) => {
        const a = t.attempts.find((x) => x.n === n);
        if (a) {
          Object.assign(a, {
            status,
            finished_at: this.now().toISOString(),
            turns: outcome?.turns ?? 0,
            usage: { ...usage, cost_usd: cost, model: resolved.alias },
            files_changed: files,
            out_of_scope: outOfScope,
            refused,
            report,
            ...(validation ? { validation: summary } : {}),
            ...(error ? { error } : {}),
            ...(head ? { head_commit: head } : {}),
          });
        }
        t.status = status;
        return t;
      },
      this.now(),
    );
    progress(`attempt ${n}: ${status}`);
    return {
      task_id: id,
      status,
      attempt: n,
      files_changed: files,
      validation: summary,
      usage: { ...usage, cost_usd: cost, model: resolved.alias },
      // The server's reason comes first when the attempt did not pass; the executor's words follow.
      report: shorten(
        error && status !== "passed" && status !== "failed"
          ? outcome?.report
            ? `${error} Executor: ${outcome.report}`
            : error
          : report,
        REPORT_CHARS,
      ),
      ...(outOfScope.length ? { out_of_scope: outOfScope } : {}),
    };
  }
}

function defaultCreateModel(
  model: ResolvedModel,
  env: NodeJS.ProcessEnv,
  requestTimeoutS: number | undefined,
): Promise<ChatModel> {
  return createChatModel(model, {
    env,
    ...(requestTimeoutS !== undefined ? { timeoutMs: Math.round(requestTimeoutS * 1000) } : {}),
  });
}
