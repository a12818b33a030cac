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

const FILE_RE = /^(\d{2,4})-([a-z0-9][a-z0-9-]*)\.json$/;

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
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw err;
      }
      for (const name of names.sort()) {
        const m = FILE_RE.exec(name);
        if (!m) continue;
        const id = formatTaskId(project, Number(m[1]), m[2]!);
        try {
          const task = await this.get(id);
          if (
            (!filter.status || task.status === filter.status) &&
            (!filter.template || task.template === filter.template)
          )
            tasks.push(task);
        } catch (err) {
          warnings.push((err as Error).message);
        }
      }
    }
    return { tasks, warnings };
  }
}
