import { mkdir, open, readdir, readFile, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { UserError } from "../core/errors.js";
import {
  formatTaskId,
  formatTemplateId,
  parseTaskId,
  type StoredTask,
  storedTaskSchema,
  type TaskStatus,
  TEMPLATE_ID_RE,
} from "../core/mini-task.js";
import { writeFileAtomic } from "./atomic.js";
import { storePath, type Workspace } from "./workspace.js";
import { writeFailure } from "./write-failure.js";

const NO_FOLDER = new Set(["ENOENT", "ENOTDIR"]);

/** Task files list() reads at once. */
const LIST_READS = 32;

const FILE_RE = /^(\d{2,4})-([a-z0-9][a-z0-9-]*)\.json$/;

/** Plain code-unit order, the same on every machine (not the locale's). */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Tasks as files: mini-projects/<project>/<NN>-<slug>.json (+ .md). */
export class TaskStore {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(readonly ws: Workspace) {}

  projectDir(project: string): string {
    return join(this.ws.dir, project);
  }

  jsonPath(id: string): string {
    const p = parseTaskId(id);
    if (!p)
      throw new UserError(
        `task_id "${id}" is not a task id; use the form project/NN-slug from create_mini_task.`,
        "task_id",
      );
    return join(this.ws.dir, p.project, `${String(p.number).padStart(2, "0")}-${p.slug}.json`);
  }

  /**
   * Reserve the next task number of a project. Numbers are claimed by creating
   * `.seq/<NN>` with O_EXCL, so two callers — even in two processes — never get the same one.
   */
  async allocate(project: string, slug: string): Promise<{ number: number; id: string }> {
    const seqDir = await storePath(this.ws, project, ".seq");
    await mkdir(seqDir, { recursive: true }).catch((err) => {
      throw writeFailure(this.projectDir(project), err);
    });
    const taken = new Set<number>();
    for (const name of await readdir(seqDir)) if (/^\d+$/.test(name)) taken.add(Number(name));
    for (const name of await readdir(this.projectDir(project))) {
      const m = FILE_RE.exec(name);
      if (m) taken.add(Number(m[1]));
    }
    let n = taken.size ? Math.max(...taken) + 1 : 1;
    for (;;) {
      try {
        const fh = await open(join(seqDir, String(n)), "wx");
        await fh.close();
        return { number: n, id: formatTaskId(project, n, slug) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw writeFailure(seqDir, err);
        n++;
      }
    }
  }

  /** Reserve the next template number of a project (`.seq/t<NN>`, O_EXCL like task numbers). */
  async allocateTemplate(project: string, slug: string): Promise<string> {
    const seqDir = await storePath(this.ws, project, ".seq");
    await mkdir(seqDir, { recursive: true }).catch((err) => {
      throw writeFailure(this.projectDir(project), err);
    });
    const taken = (await readdir(seqDir)).flatMap((name) => {
      const m = /^t(\d+)$/.exec(name);
      return m ? [Number(m[1])] : [];
    });
    let n = taken.length ? Math.max(...taken) + 1 : 1;
    for (;;) {
      try {
        const fh = await open(join(seqDir, `t${n}`), "wx");
        await fh.close();
        return formatTemplateId(project, n, slug);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw writeFailure(seqDir, err);
        n++;
      }
    }
  }

  async write(task: StoredTask, markdown?: string): Promise<void> {
    const json = await storePath(this.ws, relative(this.ws.dir, this.jsonPath(task.id)));
    const md = json.replace(/\.json$/, ".md");
    let path = json;
    try {
      await mkdir(join(json, ".."), { recursive: true });
      await writeFileAtomic(json, `${JSON.stringify(task, null, 2)}\n`);
      path = md;
      if (markdown !== undefined) await writeFileAtomic(md, markdown);
    } catch (err) {
      throw writeFailure(path, err);
    }
  }

  /** Undo a task that could not be stored whole: its files and its number's reservation. */
  async discardNew(id: string): Promise<void> {
    const json = this.jsonPath(id);
    const p = parseTaskId(id)!;
    await Promise.all([
      rm(json, { force: true }),
      rm(json.replace(/\.json$/, ".md"), { force: true }),
      rm(join(this.projectDir(p.project), ".seq", String(p.number)), { force: true }),
    ]);
  }

  async get(id: string): Promise<StoredTask> {
    const path = this.jsonPath(id);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new UserError(`task_id "${id}" does not exist; list_tasks shows the ids.`, "task_id");
      throw err;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new UserError(
        `${path} is damaged (${(err as Error).message}); fix or delete the file.`,
        "task_id",
      );
    }
    const parsed = storedTaskSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UserError(
        `${path} is damaged (${issue.path.join(".")}: ${issue.message}); fix or delete the file.`,
        "task_id",
      );
    }
    return parsed.data;
  }

  async exists(id: string): Promise<boolean> {
    try {
      await readFile(this.jsonPath(id));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Read-modify-write one task, serialized per task within this process so concurrent
   * attempts and status changes never overwrite each other.
   */
  async update(
    id: string,
    change: (task: StoredTask) => StoredTask | undefined,
    now = new Date(),
  ): Promise<StoredTask> {
    const prev = this.chains.get(id) ?? Promise.resolve();
    const run = prev.then(async () => {
      const task = await this.get(id);
      const next = change(task) ?? task;
      next.updated_at = now.toISOString();
      await this.write(next);
      return next;
    });
    this.chains.set(
      id,
      run.catch(() => {}),
    );
    return run;
  }

  async projects(): Promise<string[]> {
    try {
      const entries = await readdir(this.ws.dir, { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory() && /^[a-z0-9]/.test(e.name))
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }

  /** Every task id on disk (of one project, when given), in order: project, then number. */
  private async ids(project?: string): Promise<{ project: string; number: number; id: string }[]> {
    const out: { project: string; number: number; id: string }[] = [];
    for (const p of project ? [project] : await this.projects()) {
      let names: string[];
      try {
        names = await readdir(this.projectDir(p));
      } catch (err) {
        // No folder yet, or a file in its place: no tasks here (a write there names the file in the way).
        if (NO_FOLDER.has((err as NodeJS.ErrnoException).code ?? "")) continue;
        throw err;
      }
      for (const name of names) {
        const m = FILE_RE.exec(name);
        if (m) out.push({ project: p, number: Number(m[1]), id: formatTaskId(p, Number(m[1]), m[2]!) });
      }
    }
    return out.sort((a, b) =>
      a.project === b.project ? a.number - b.number || compare(a.id, b.id) : compare(a.project, b.project),
    );
  }

  /**
   * One page of tasks in list order, starting after the task `after` (a cursor: the last id of the
   * previous page), so paging returns every task once even while new ones are created. `total`:
   * every match, on the first page of a status filter and always without one.
   */
  async page(
    filter: { project?: string; status?: TaskStatus; template?: string },
    opts: { after?: string; limit: number },
  ): Promise<{ tasks: StoredTask[]; warnings: string[]; total?: number; next?: string }> {
    const fromTemplate = filter.template ? TEMPLATE_ID_RE.exec(filter.template)?.[1] : undefined;
    const all = await this.ids(filter.project ?? fromTemplate);
    // A template filter, like a status filter, needs each task's fields: both peek the same way.
    const peek = filter.status !== undefined || filter.template !== undefined;
    let start = 0;
    if (opts.after !== undefined) {
      const cursor = parseTaskId(opts.after);
      if (!cursor)
        throw new UserError(
          `cursor "${opts.after}" is not one list_tasks gave; pass its next_cursor as is.`,
          "cursor",
        );
      const key = { project: cursor.project, number: cursor.number, id: opts.after };
      start = all.findIndex((t) =>
        t.project === key.project
          ? t.number > key.number || (t.number === key.number && compare(t.id, key.id) > 0)
          : compare(t.project, key.project) > 0,
      );
      if (start < 0) start = all.length;
    }
    const tasks: StoredTask[] = [];
    const warnings: string[] = [];
    let matched = 0;
    let more = false;
    let last = -1;
    // The first page of a status filter looks at every task to count the matches; later pages
    // read only from the cursor until the page is full (one more match says more follow).
    const counting = peek && opts.after === undefined;
    for (let i = start; i < all.length; i++) {
      // Without a status filter a page is `limit` files, damaged ones included (each is a warning).
      if (!peek && i - start >= opts.limit) break;
      if (tasks.length === opts.limit && more && !counting) break;
      const full = tasks.length === opts.limit;
      if (peek && !(await this.hasFields(all[i]!.id, filter))) continue;
      let task: StoredTask;
      try {
        task = await this.get(all[i]!.id);
      } catch (err) {
        if (!full) {
          warnings.push((err as Error).message);
          last = i;
        }
        continue;
      }
      matched++;
      if (full) more = true;
      else {
        tasks.push(task);
        last = i;
      }
    }
    if (!peek) more = last >= 0 && last < all.length - 1;
    const total = !peek ? all.length : counting ? matched : undefined;
    return {
      tasks,
      warnings,
      ...(total !== undefined ? { total } : {}),
      ...(more ? { next: all[last]!.id } : {}),
    };
  }

  /** A cheap look at a task's status (no validation); a file that cannot be read counts as a match, so get() reports it. */
  private async hasFields(id: string, filter: { status?: TaskStatus; template?: string }): Promise<boolean> {
    try {
      const raw = JSON.parse(await readFile(this.jsonPath(id), "utf8")) as {
        status?: unknown;
        template?: unknown;
      };
      return (
        (filter.status === undefined || raw.status === filter.status) &&
        (filter.template === undefined || raw.template === filter.template)
      );
    } catch {
      return true;
    }
  }

  /** Every task, optionally of one project and/or status, in id order. Damaged files are reported, not fatal. */
  async list(
    filter: { project?: string; status?: TaskStatus; template?: string } = {},
  ): Promise<{ tasks: StoredTask[]; warnings: string[] }> {
    const warnings: string[] = [];
    const tasks: StoredTask[] = [];
    const fromTemplate = filter.template ? TEMPLATE_ID_RE.exec(filter.template)?.[1] : undefined;
    const projects = filter.project
      ? [filter.project]
      : fromTemplate
        ? [fromTemplate]
        : await this.projects();
    for (const project of projects) {
      let names: string[];
      try {
        names = await readdir(this.projectDir(project));
      } catch (err) {
        // No folder yet, or a file in its place: no tasks here (a write there names the file in the way).
        if (NO_FOLDER.has((err as NodeJS.ErrnoException).code ?? "")) continue;
        throw err;
      }
      const ids = names
        .sort()
        .map((name) => FILE_RE.exec(name))
        .filter((m) => m !== null)
        .map((m) => formatTaskId(project, Number(m[1]), m[2]!));
      // Read LIST_READS files at a time: one by one, 3,000 tasks wait on 3,000 round trips to the
      // file system's thread pool. Results stay in id order.
      for (let start = 0; start < ids.length; start += LIST_READS) {
        const read = await Promise.all(
          ids.slice(start, start + LIST_READS).map((id) =>
            this.get(id).then(
              (task) => ({ task }),
              (err: unknown) => ({ error: (err as Error).message }),
            ),
          ),
        );
        for (const r of read) {
          if ("error" in r) warnings.push(r.error);
          else if (
            (!filter.status || r.task.status === filter.status) &&
            (!filter.template || r.task.template === filter.template)
          )
            tasks.push(r.task);
        }
      }
    }
    return { tasks, warnings };
  }
}
