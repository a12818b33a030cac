/**
 * Start-up repair after a crash (kill -9, power loss): a task left `running` by a server process
 * that is gone becomes `error` ("interrupted"), and stale delegate worktree state is repaired.
 * Which process runs a task is recorded in a marker file, so a second live server on the same
 * workspace never has its running tasks taken away.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { link, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { messageOf, UserError } from "../core/errors.js";
import { type Attempt, parseTaskId, type StoredTask } from "../core/mini-task.js";
import { transition } from "../core/status.js";
import { log } from "../log.js";
import { writeFileAtomic } from "./atomic.js";
import { ledgerAt } from "./ledger.js";
import type { TaskStore } from "./tasks.js";
import { storePath, type Workspace } from "./workspace.js";

/** Identifies this process even when a later process reuses its pid (containers restart at low pids). */
const INSTANCE = randomBytes(8).toString("hex");

interface RunMarker {
  pid: number;
  host: string;
  instance: string;
  /** /proc/<pid>/stat starttime on Linux, else null. */
  proc_start: number | null;
}

/** mini-projects/<project>/<kind>/<NN-slug>.json, as segments under the delegate dir. */
function markerSegments(taskId: string, kind = ".running"): string[] {
  const p = parseTaskId(taskId);
  if (!p) throw new Error(`not a task id: ${taskId}`);
  return [p.project, kind, `${String(p.number).padStart(2, "0")}-${p.slug}.json`];
}

/**
 * An accept under way, written before its first change to the working tree and removed when it is
 * done: a process killed midway leaves it, and the next accept (or start) finishes or rolls back.
 */
export interface AcceptIntent {
  task: string;
  attempt: number;
  head_commit: string;
  commit: boolean;
  /** HEAD before the accept. */
  head: string;
  before: Record<string, string | null>;
  after: Record<string, string | null>;
}

export async function writeAcceptIntent(ws: Workspace, intent: AcceptIntent): Promise<void> {
  const path = await storePath(ws, ...markerSegments(intent.task, ".accepting"));
  await mkdir(join(path, ".."), { recursive: true });
  await writeFileAtomic(path, `${JSON.stringify(intent)}\n`);
}

/** The intent left for `taskId`, or null (none, or unreadable: a torn write never got applied). */
export async function readAcceptIntent(ws: Workspace, taskId: string): Promise<AcceptIntent | null> {
  try {
    const i = JSON.parse(await readFile(join(ws.dir, ...markerSegments(taskId, ".accepting")), "utf8"));
    return i && i.task === taskId && typeof i.head === "string" && i.before && i.after ? i : null;
  } catch {
    return null;
  }
}

export async function clearAcceptIntent(ws: Workspace, taskId: string): Promise<void> {
  await rm(await storePath(ws, ...markerSegments(taskId, ".accepting")), { force: true });
}

/** Ids of the tasks with an accept intent left behind. */
export async function acceptIntentIds(ws: Workspace): Promise<string[]> {
  const ids: string[] = [];
  const projects = await readdir(ws.dir, { withFileTypes: true }).catch(() => []);
  for (const project of projects) {
    if (!project.isDirectory()) continue;
    const files = await readdir(join(ws.dir, project.name, ".accepting")).catch(() => [] as string[]);
    for (const f of files) {
      const id = `${project.name}/${f.slice(0, -".json".length)}`;
      if (f.endsWith(".json") && parseTaskId(id)) ids.push(id);
    }
  }
  return ids;
}

/** The process's state and start time from /proc (Linux), or null where there is no /proc. */
function procInfo(pid: number): { state: string; start: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // "pid (comm) state ppid ... starttime(22nd)": comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0] ?? "", start: Number(fields[19]) };
  } catch {
    return null;
  }
}

/**
 * Claim `taskId` for this process before it is marked running: the marker is created with O_EXCL,
 * so of two dispatches (in one process or two) exactly one gets it, before any model call. A marker
 * left by a process that is gone is taken over. The loser gets a UserError naming the owner.
 */
export async function claimRun(ws: Workspace, taskId: string): Promise<void> {
  const path = await storePath(ws, ...markerSegments(taskId));
  await mkdir(join(path, ".."), { recursive: true });
  const marker: RunMarker = {
    pid: process.pid,
    host: hostname(),
    instance: INSTANCE,
    proc_start: procInfo(process.pid)?.start ?? null,
  };
  for (let tries = 0; ; tries++) {
    try {
      // Written whole under a temporary name, then linked: the claim never exists half-written.
      const tmp = `${path}.${INSTANCE}.${tries}.tmp`;
      await writeFileAtomic(tmp, `${JSON.stringify(marker)}\n`);
      try {
        await link(tmp, path);
      } finally {
        await rm(tmp, { force: true });
      }
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || tries >= 3) throw err;
    }
    const owner = await readMarker(ws.dir, taskId);
    if (owner && ownerAlive(owner)) throw runningElsewhere(taskId, owner);
    // The owner is gone (or its marker unreadable): its claim is stale.
    await rm(path, { force: true });
  }
}

function runningElsewhere(taskId: string, owner: RunMarker): UserError {
  const who =
    owner.host !== hostname()
      ? `process ${owner.pid} on ${owner.host}`
      : owner.pid === process.pid
        ? `process ${owner.pid} (this server)`
        : `process ${owner.pid}`;
  return new UserError(`task_id ${taskId} is running in ${who}; wait for it or poll get_task.`, "task_id");
}

/** Forget the claim (after the task's final status is written). */
export async function releaseRun(ws: Workspace, taskId: string): Promise<void> {
  await rm(await storePath(ws, ...markerSegments(taskId)), { force: true });
}

async function readMarker(dir: string, taskId: string): Promise<RunMarker | null> {
  try {
    const m = JSON.parse(await readFile(join(dir, ...markerSegments(taskId)), "utf8")) as Partial<RunMarker>;
    if (typeof m.pid !== "number" || typeof m.host !== "string") return null;
    return {
      pid: m.pid,
      host: m.host,
      instance: String(m.instance ?? ""),
      proc_start: typeof m.proc_start === "number" ? m.proc_start : null,
    };
  } catch {
    return null;
  }
}

/** Whether the process that claimed a task may still be running it. */
function ownerAlive(m: RunMarker): boolean {
  // Another machine sharing the directory: nothing here can tell, so leave its tasks alone.
  if (m.host !== hostname()) return true;
  if (m.pid === process.pid) return m.instance === INSTANCE;
  try {
    process.kill(m.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const info = procInfo(m.pid);
  if (info === null) return true;
  if (info.state === "Z" || info.state === "X") return false;
  // The pid was reused by another process.
  return m.proc_start === null || info.start === m.proc_start;
}

/**
 * Tasks left `running` by a process that is gone become `error` with the reason; their running
 * attempts too. Returns one line per task repaired.
 */
export async function recoverInterruptedTasks(store: TaskStore, now = new Date()): Promise<string[]> {
  const done: string[] = [];
  const { tasks } = await store.list({ status: "running" });
  for (const task of tasks) {
    const line = await recoverIfOrphaned(store, task, now);
    if (line) done.push(line);
  }
  return done;
}

/**
 * One task, as the start-up repair treats it: left `running` by a process that is gone, it becomes
 * `error` ("interrupted"). Called whenever a task is touched (get_task, dispatch, discard), so a
 * long-lived server notices a peer's crash too. Returns what was repaired, or null.
 */
export async function recoverIfOrphaned(
  store: TaskStore,
  task: StoredTask,
  now = new Date(),
): Promise<string | null> {
  if (task.status !== "running") return null;
  const owner = await readMarker(store.ws.dir, task.id);
  if (owner && ownerAlive(owner)) return null;
  const why = `interrupted: the server process running it${owner ? ` (pid ${owner.pid})` : ""} stopped before the attempt finished; dispatch the task again.`;
  // The dead process recorded every model call in the ledger but never wrote the attempt's total.
  const spent = await ledgerUsage(store.ws, task);
  let changed = false;
  await store.update(
    task.id,
    (t) => {
      // Finished by its owner between the read and now.
      if (t.status !== "running") return t;
      for (const a of t.attempts) {
        if (a.status !== "running") continue;
        Object.assign(a, { status: "error", error: why, finished_at: now.toISOString() });
        const usage = spent.get(a.n);
        if (usage) a.usage = { ...usage, model: a.usage.model };
      }
      t.status = transition(t.status, "error", t.id);
      changed = true;
      return t;
    },
    now,
  );
  await releaseRun(store.ws, task.id);
  return changed ? `${task.id}: ${why}` : null;
}

/** Why a running task cannot be run again now, naming the process that runs it. */
export async function runningMessage(ws: Workspace, taskId: string): Promise<string> {
  const owner = await readMarker(ws.dir, taskId);
  return owner
    ? runningElsewhere(taskId, owner).message
    : `task_id ${taskId} is running; wait for it or poll get_task.`;
}

type AttemptUsage = Omit<Attempt["usage"], "model">;

/** Execution usage the ledger holds for each attempt of `task`, by attempt number. */
async function ledgerUsage(ws: Workspace, task: StoredTask): Promise<Map<number, AttemptUsage>> {
  const byAttempt = new Map<number, AttemptUsage>();
  const { entries } = await ledgerAt(ws.dir).read({ project: task.project });
  for (const e of entries) {
    if (e.task !== task.id || e.attempt === undefined || e.phase !== "execution") continue;
    const sum = byAttempt.get(e.attempt) ?? {
      input_tokens: 0,
      output_tokens: 0,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
      cost_usd: 0,
    };
    sum.input_tokens += e.input_tokens;
    sum.output_tokens += e.output_tokens;
    sum.cache_read_tokens += e.cache_read_tokens;
    sum.cache_write_tokens += e.cache_write_tokens;
    sum.cost_usd =
      sum.cost_usd === null || e.cost_usd === null
        ? null
        : Math.round((sum.cost_usd + e.cost_usd) * 1e9) / 1e9;
    byAttempt.set(e.attempt, sum);
  }
  return byAttempt;
}

/** The task as stored, after repairing it if its owner process is gone (see recoverIfOrphaned). */
export async function touchTask(store: TaskStore, id: string): Promise<StoredTask> {
  const task = await store.get(id);
  if (task.status !== "running") return task;
  const repaired = await recoverIfOrphaned(store, task);
  if (!repaired) return task;
  log.warn(`repair: ${repaired}`);
  return store.get(id);
}

/**
 * The start-up repair for one workspace: interrupted tasks, then the git worktrees (stale
 * index.lock files, records of worktrees whose directory is gone). Never throws: what cannot be
 * repaired is logged.
 */
export async function recoverWorkspace(
  store: TaskStore,
  repairWorktrees: (root: string) => Promise<string[]>,
): Promise<string[]> {
  const done: string[] = [];
  try {
    done.push(...(await recoverInterruptedTasks(store)));
  } catch (err) {
    log.warn(`start-up repair of tasks in ${store.ws.dir} failed: ${messageOf(err)}`);
  }
  try {
    done.push(...(await repairWorktrees(store.ws.root)));
  } catch (err) {
    // Not a git repository (dispatch reports that itself) or git missing: nothing to repair.
    log.debug(`worktree repair skipped for ${store.ws.root}: ${messageOf(err)}`);
  }
  for (const line of done) log.warn(`start-up repair: ${line}`);
  return done;
}
