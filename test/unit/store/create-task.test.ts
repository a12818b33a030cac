import { mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storedTaskSchema } from "../../../src/core/mini-task.js";
import { createMiniTask } from "../../../src/store/create-task.js";
import { TaskStore } from "../../../src/store/tasks.js";
import { resolveWorkspace, type Workspace } from "../../../src/store/workspace.js";
import { spec } from "../core/fixtures.js";

let base: string;
let ws: Workspace;
let store: TaskStore;
const NOW = new Date("2030-05-06T07:08:09.000Z");

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), "create-task-")));
  const root = join(base, "repo");
  await mkdir(join(root, "src"), { recursive: true });
  await writeFile(
    join(root, "src", "a.ts"),
    `${Array.from({ length: 60 }, (_, i) => `export const v${i} = ${i};`).join("\n")}\n`,
  );
  ws = await resolveWorkspace({ flag: root, env: {} });
  store = new TaskStore(ws);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("createMiniTask", () => {
  it("stores a valid spec as <project>/01-<slug>.json and .md with a haiku estimate", async () => {
    const result = await createMiniTask(ws, store, {}, spec(), NOW);
    expect(result.lint.filter((l) => l.level === "error")).toEqual([]);
    expect(result.path).toBe("mini-projects/split-todoist/01-add-the-csv-parser.json");
    expect(result.task?.id).toBe("split-todoist/01-add-the-csv-parser");

    const dir = join(ws.dir, "split-todoist");
    const json = JSON.parse(await readFile(join(dir, "01-add-the-csv-parser.json"), "utf8"));
    const stored = storedTaskSchema.parse(json);
    expect(stored).toEqual(result.task);
    expect(stored).toMatchObject({
      status: "ready",
      number: 1,
      slug: "add-the-csv-parser",
      attempts: [],
      created_at: NOW.toISOString(),
      updated_at: NOW.toISOString(),
      lint: result.lint,
    });
    expect(stored.estimate.model).toBe("haiku");
    expect(stored.estimate.input_tokens).toBeGreaterThan(0);
    expect(stored.estimate.output_tokens).toBeGreaterThan(0);
    expect(stored.estimate.cost_usd).toBeGreaterThan(0);
    expect(result.estimate).toEqual(stored.estimate);

    const md = await readFile(join(dir, "01-add-the-csv-parser.md"), "utf8");
    expect(md.startsWith("# Mini-Task split-todoist/01-add-the-csv-parser: Add the CSV parser")).toBe(true);
    expect(md).toContain("**Model:** haiku");

    const second = await createMiniTask(ws, store, {}, spec({ title: "Export the parser" }), NOW);
    expect(second.task?.id).toBe("split-todoist/02-export-the-parser");
  });

  it("does not store a spec with blocking lint, and creates no file", async () => {
    const result = await createMiniTask(
      ws,
      store,
      {},
      spec({ validation: [], files_to_read: [{ path: "src/a.ts", lines: "50-90" }] }),
      NOW,
    );
    expect(result.task).toBeUndefined();
    expect(result.path).toBeUndefined();
    expect(result.lint.filter((l) => l.level === "error").map((l) => l.field)).toEqual([
      "validation",
      "files_to_read[0].lines",
    ]);
    expect(result.lint.find((l) => l.field === "files_to_read[0].lines")?.message).toContain(
      "beyond the end of src/a.ts (60 lines)",
    );
    expect(await readdir(ws.root)).toEqual(["src"]);
  });

  it("refuses paths outside the workspace and protected paths to write, through lint", async () => {
    await writeFile(join(base, "secret"), "s\n");
    await symlink(join(base, "secret"), join(ws.root, "src", "link"));
    const result = await createMiniTask(
      ws,
      store,
      {},
      spec({
        files_to_read: [{ path: "../secret" }, { path: "src/link" }],
        files_to_modify: [
          { path: "src/a.ts", action: "edit" },
          { path: ".git/config", action: "create" },
          { path: "mini-projects/ledger.jsonl", action: "create" },
        ],
      }),
      NOW,
    );
    expect(result.task).toBeUndefined();
    const errors = result.lint.filter((l) => l.level === "error");
    expect(errors.map((l) => l.field)).toEqual([
      "files_to_read[0].path",
      "files_to_read[1].path",
      "files_to_modify[1].path",
      "files_to_modify[2].path",
    ]);
    expect(errors[0]!.message).toContain('"../secret" is refused: it escapes the workspace');
    expect(errors[1]!.message).toContain('"src/link" is refused: it is a symlink');
    expect(errors[2]!.message).toContain("git internals");
    expect(errors[3]!.message).toContain("ledger");
  });

  it("refuses a dangling symlink to outside as a file to create, and creates nothing outside", async () => {
    await symlink(join(base, "planted.ts"), join(ws.root, "src", "planted.ts"));
    const result = await createMiniTask(
      ws,
      store,
      {},
      spec({ files_to_modify: [{ path: "src/planted.ts", action: "create" }] }),
      NOW,
    );
    expect(result.task).toBeUndefined();
    expect(result.lint).toContainEqual({
      level: "error",
      field: "files_to_modify[0].path",
      message: expect.stringMatching(
        /"src\/planted\.ts" is refused: it is a symlink .* outside the workspace/,
      ),
    });
    expect((await readdir(base)).sort()).toEqual(["repo"]);
  });

  it("blocks a depends_on that does not exist and accepts one that does", async () => {
    const first = await createMiniTask(ws, store, {}, spec(), NOW);
    const ok = await createMiniTask(ws, store, {}, spec({ depends_on: [first.task!.id] }), NOW);
    expect(ok.task?.depends_on).toEqual([first.task!.id]);
    const bad = await createMiniTask(ws, store, {}, spec({ depends_on: ["split-todoist/09-nope"] }), NOW);
    expect(bad.task).toBeUndefined();
    expect(bad.lint).toContainEqual(expect.objectContaining({ level: "error", field: "depends_on[0]" }));
  });

  it("estimates an OpenAI model with its own exact count, different from the Claude estimate", async () => {
    const haiku = await createMiniTask(ws, store, {}, spec(), NOW);
    const mini = await createMiniTask(ws, store, {}, spec({ model: "gpt-4o-mini" }), NOW);
    expect(mini.estimate.model).toBe("gpt-4o-mini");
    expect(mini.estimate.input_tokens).toBeGreaterThan(0);
    expect(mini.estimate.input_tokens).not.toBe(haiku.estimate.input_tokens);
    // Claude is estimated from the same o200k count scaled up, so it is the larger of the two.
    expect(mini.estimate.input_tokens).toBeLessThan(haiku.estimate.input_tokens);
    expect(mini.estimate.cost_usd).toBeGreaterThan(0);
  });

  it("warns instead of guessing when the model has no known price", async () => {
    const config = { models: { local: { provider: "openai-compatible" as const, model: "qwen2.5-coder" } } };
    const result = await createMiniTask(ws, store, config, spec({ model: "local" }), NOW);
    expect(result.estimate.cost_usd).toBeNull();
    expect(result.lint).toContainEqual(expect.objectContaining({ level: "warning", field: "model" }));
    expect(result.task).toBeDefined();
  });

  it("advises merging a small task only when another open task modifies the same file", async () => {
    const first = await createMiniTask(ws, store, {}, spec(), NOW);
    expect(first.lint.map((l) => l.field)).not.toContain("estimate");
    const second = await createMiniTask(ws, store, {}, spec({ title: "Export the parser" }), NOW);
    expect(second.lint).toContainEqual({
      level: "warning",
      field: "estimate",
      message: expect.stringContaining(`${first.task!.id} modifies the same file(s)`),
    });
  });
});

describe("templates (targets)", () => {
  const template = (over: Record<string, unknown> = {}) =>
    spec({
      title: "Document {{name}}",
      files_to_read: [],
      files_to_modify: [{ path: "src/{{name}}.ts", action: "edit" }],
      steps: ["Add a JSDoc line above {{fn}} in src/{{name}}.ts."],
      snippets: [],
      acceptance_criteria: ["{{fn}} has a JSDoc line"],
      validation: [{ run: "grep -q '/\\*\\*' src/{{name}}.ts" }],
      targets: [
        { name: "b", fn: "parseB" },
        { name: "c", fn: "parseC" },
        { name: "d", fn: "parseD" },
      ],
      ...over,
    });

  beforeEach(async () => {
    for (const n of ["b", "c", "d"])
      await writeFile(join(ws.root, "src", `${n}.ts`), `export function parse${n.toUpperCase()}() {}\n`);
  });

  it("expands to one task per target, each filled in and linted, sharing a template id", async () => {
    const result = await createMiniTask(ws, store, {}, template(), NOW);
    expect(result.template).toBe("split-todoist/t01-document-name");
    expect(result.tasks.map((t) => t.id)).toEqual([
      "split-todoist/01-document-b",
      "split-todoist/02-document-c",
      "split-todoist/03-document-d",
    ]);
    const c = result.tasks[1]!;
    expect(c).toMatchObject({
      template: "split-todoist/t01-document-name",
      target: { name: "c", fn: "parseC" },
      files_to_modify: [{ path: "src/c.ts", action: "edit" }],
      steps: ["Add a JSDoc line above parseC in src/c.ts."],
      validation: [{ run: "grep -q '/\\*\\*' src/c.ts" }],
    });
    expect(c).not.toHaveProperty("targets");
    expect(
      storedTaskSchema.parse(
        JSON.parse(await readFile(join(ws.dir, "split-todoist", "02-document-c.json"), "utf8")),
      ),
    ).toEqual(c);
    expect(result.estimate.input_tokens).toBe(result.tasks.reduce((n, t) => n + t.estimate.input_tokens, 0));
    const { tasks } = await store.list({ template: "split-todoist/t01-document-name" });
    expect(tasks.map((t) => t.id)).toEqual(result.tasks.map((t) => t.id));
    const again = await createMiniTask(ws, store, {}, template(), NOW);
    expect(again.template).toBe("split-todoist/t02-document-name");
    expect((await store.list({ template: "split-todoist/t02-document-name" })).tasks).toHaveLength(3);
  });

  it("stores nothing when one target fails lint or lacks a variable, naming each target and field", async () => {
    const bad = await createMiniTask(
      ws,
      store,
      {},
      template({ targets: [{ name: "b", fn: "parseB" }, { name: "zz", fn: "parseZ" }, { name: "d" }] }),
      NOW,
    );
    expect(bad.tasks).toEqual([]);
    expect(bad.lint).toEqual([
      {
        level: "error",
        field: "targets[2]",
        message: "targets[2] has no value for {{fn}} (used in steps[0]); add it.",
      },
    ]);
    const missingFile = await createMiniTask(
      ws,
      store,
      {},
      template({
        targets: [
          { name: "b", fn: "parseB" },
          { name: "zz", fn: "parseZ" },
        ],
      }),
      NOW,
    );
    expect(missingFile.tasks).toEqual([]);
    expect(missingFile.lint.filter((l) => l.level === "error").map((l) => l.field)).toEqual([
      "targets[1].files_to_modify[0].path",
    ]);
    expect(await readdir(ws.root)).toEqual(["src"]);
  });

  it("reads a range per target ({{lines}}, or {{start}}-{{end}}), each range linted once filled in", async () => {
    const ranged = (lines: string, targets: Record<string, string>[]) =>
      template({
        files_to_read: [{ path: "src/a.ts", lines }],
        targets: targets.map((t, i) => ({ name: ["b", "c", "d"][i]!, fn: "f", ...t })),
      });
    const whole = await createMiniTask(
      ws,
      store,
      {},
      ranged("{{lines}}", [{ lines: "1-10" }, { lines: "11-20" }]),
      NOW,
    );
    expect(whole.lint.filter((l) => l.level === "error")).toEqual([]);
    expect(whole.tasks.map((t) => t.files_to_read[0]!.lines)).toEqual(["1-10", "11-20"]);
    const ends = await createMiniTask(ws, store, {}, ranged("{{start}}-20", [{ start: "5" }]), NOW);
    expect(ends.tasks.map((t) => t.files_to_read[0]!.lines)).toEqual(["5-20"]);

    const bad = await createMiniTask(
      ws,
      store,
      {},
      ranged("{{lines}}", [{ lines: "1-10" }, { lines: "ten" }, { lines: "50-99" }]),
      NOW,
    );
    expect(bad.tasks).toEqual([]);
    expect(bad.lint.filter((l) => l.level === "error").map((l) => [l.field, l.message])).toEqual([
      ["targets[1].files_to_read[0].lines", expect.stringContaining("is not a range")],
      ["targets[2].files_to_read[0].lines", expect.stringContaining("beyond the end of src/a.ts (60 lines)")],
    ]);
    // Outside a template a placeholder is never filled in: not a range.
    const plain = await createMiniTask(
      ws,
      store,
      {},
      spec({ files_to_read: [{ path: "src/a.ts", lines: "{{lines}}" }] }),
      NOW,
    );
    expect(plain.lint.filter((l) => l.level === "error").map((l) => l.field)).toEqual([
      "files_to_read[0].lines",
    ]);
  });
});
