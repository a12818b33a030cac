/**
 * A dispatch: check what can run, mark the tasks running, then schedule their attempts
 * (independent tasks in parallel up to the concurrency limit, as attemptGates applies it; dependents after their
 * dependencies, each starting from HEAD or its dependency's branch) and escalate a failed attempt
 * to a stronger model when asked. One attempt itself is ./attempt.ts.
 */
import { executorModel, type ResolvedModel } from "../config/models.js";
import type { Config } from "../config/schema.js";
import { messageOf, UserError } from "../core/errors.js";
import type { Attempt, StoredTask } from "../core/mini-task.js";
import { canTransition, transition } from "../core/status.js";
import { log } from "../log.js";
import { assertKeyDestination, createChatModel, resolveClientSettings } from "../providers/create.js";
import type { ChatModel } from "../providers/types.js";
import { type Ledger, ledgerAt } from "../store/ledger.js";
import { claimRun, releaseRun, runningMessage, touchTask } from "../store/recovery.js";
import type { TaskStore } from "../store/tasks.js";
import type { Workspace } from "../store/workspace.js";
import {
  type AttemptBase,
  type AttemptContext,
  type AttemptGates,
  type AttemptOptions,
  type Gate,
  runAttempt,
} from "./attempt.js";
import type { TaskResult } from "./attempt-result.js";
import { checkCliModel } from "./cli-check.js";
import { latestRun } from "./locate.js";
import { gitRoot, headCommit } from "./repo.js";

export const DEFAULT_CONCURRENCY = 4;

export interface DispatchOptions extends AttemptOptions {
  model?: string | undefined;
  escalateTo?: string | undefined;
  concurrency?: number | undefined;
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

/** A small semaphore: at most `n` calls of the function it returns run at once. */
function limiter(n: number): Gate {
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

/**
 * The concurrency limit `n` as the attempts of one dispatch meet it (see AttemptGates): n executor
 * sessions and n server checks at once, and up to n more attempts opening their worktrees while
 * those sessions wait on the model.
 */
export function attemptGates(n: number): AttemptGates {
  return { window: limiter(2 * n), session: limiter(n), check: limiter(n) };
}

/**
 * Check what can be dispatched before anything runs: ids exist, statuses allow a run, and every
 * dependency is either accepted, passed, or in this batch.
 */
async function plan(store: TaskStore, ids: string[]): Promise<StoredTask[]> {
  const unique = [...new Set(ids)];
  const tasks: StoredTask[] = [];
  for (const id of unique) {
    // A task its crashed owner left running is repaired here, as at start-up.
    const task = await touchTask(store, id);
    if (task.status === "running") throw new UserError(await runningMessage(store.ws, id), "task_ids");
    if (!canTransition(task.status, "running")) {
      throw new UserError(
        `task_id ${id} is ${task.status}; create a new task to change it further.`,
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
      const status = (await touchTask(store, dep)).status;
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
    this.ledger = ledgerAt(deps.ws.dir);
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
        if (m.cli) {
          await checkCliModel(m, this.deps.env, this.deps.workspaceConfigPath);
          continue;
        }
        resolveClientSettings(m, { env: this.deps.env });
        if (this.deps.workspaceConfigPath)
          assertKeyDestination(m, this.deps.env, this.deps.workspaceConfigPath);
      }
    }
    // Every task claimed before any shows as running (so a repair elsewhere can tell it is alive),
    // and before any model call: a second dispatch of the same task, from any process, stops here.
    const claimed: string[] = [];
    try {
      for (const task of tasks) {
        await claimRun(this.deps.ws, task.id);
        claimed.push(task.id);
      }
    } catch (err) {
      await Promise.all(claimed.map((id) => releaseRun(this.deps.ws, id).catch(() => {})));
      throw err;
    }
    const attempts = new Map<string, number>();
    for (const task of tasks) {
      const model = executorModel(this.deps.config, opts.model ?? task.model);
      const updated = await this.deps.store.update(
        task.id,
        (t) => {
          const n = t.attempts.length + 1;
          t.attempts.push(this.newAttempt(n, model));
          t.status = transition(t.status, "running", t.id);
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
    const gates = attemptGates(
      opts.concurrency ?? this.deps.config.limits?.concurrency ?? DEFAULT_CONCURRENCY,
    );
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
          return this.runTask(task.id, attempts.get(task.id)!, opts, gates).finally(() =>
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
  private async baseFor(task: StoredTask): Promise<AttemptBase> {
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

  private async runTask(
    id: string,
    n: number,
    opts: DispatchOptions,
    gates: AttemptGates,
  ): Promise<TaskResult> {
    const first = await this.attempt(id, n, opts.model, opts, gates);
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
        t.status = transition(t.status, "running", t.id);
        return t;
      },
      this.now(),
    );
    opts.onProgress?.(`${id}: attempt ${n} ${first.status}; escalating to ${escalated.alias}`);
    const second = await this.attempt(id, updated.attempts.length, opts.escalateTo, opts, gates, n);
    const firstCost = first.usage.cost_usd === null ? "cost unknown" : `$${first.usage.cost_usd.toFixed(4)}`;
    return {
      ...second,
      escalated_from: `attempt ${n} on ${first.usage.model}: ${first.status} (${firstCost})`,
    };
  }

  /** What this dispatch shares with each attempt (HEAD as prepare() found it). */
  private attemptContext(gates: AttemptGates): AttemptContext {
    const { ws, store, config, env } = this.deps;
    return {
      ws,
      store,
      config,
      env,
      ledger: this.ledger,
      now: this.now,
      repo: () => this.repo(),
      head: this.head,
      modelFor: (m) => this.modelFor(m),
      baseFor: (t) => this.baseFor(t),
      gates,
    };
  }

  private attempt(
    id: string,
    n: number,
    modelName: string | undefined,
    opts: DispatchOptions,
    gates: AttemptGates,
    escalationOf?: number,
  ): Promise<TaskResult> {
    return runAttempt(this.attemptContext(gates), { id, n, modelName, opts, escalationOf });
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
