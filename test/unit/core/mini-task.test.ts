import { describe, expect, it } from "vitest";
import {
  formatTaskId,
  miniTaskSpecSchema,
  parseLines,
  parseTaskId,
  slugify,
  storedTaskSchema,
} from "../../../src/core/mini-task.js";
import { rawSpec, storedTask } from "./fixtures.js";

function issuesOf(raw: unknown) {
  const r = miniTaskSpecSchema.safeParse(raw);
  expect(r.success).toBe(false);
  return r.error!.issues;
}

describe("miniTaskSpecSchema", () => {
  it("parses a valid spec unchanged", () => {
    const raw = rawSpec({ model: "haiku", depends_on: ["split-todoist/01-setup"] });
    const parsed = miniTaskSpecSchema.parse(raw);
    expect(parsed).toEqual(raw);
  });

  it("applies the defaults for the optional lists", () => {
    const parsed = miniTaskSpecSchema.parse({
      project: "p",
      title: "Fix it",
      objective: "One thing.",
      files_to_modify: [{ path: "a.ts", action: "create" }],
      steps: ["Write a.ts."],
    });
    expect(parsed).toMatchObject({
      files_to_read: [],
      snippets: [],
      acceptance_criteria: [],
      validation: [],
      depends_on: [],
    });
    expect(parsed.context).toBeUndefined();
    expect(parsed.model).toBeUndefined();
  });

  it("rejects an unknown top-level field", () => {
    expect(issuesOf(rawSpec({ status: "passed" }))).toEqual([
      expect.objectContaining({ code: "unrecognized_keys", keys: ["status"], path: [] }),
    ]);
  });

  it.each([
    ["files_to_read", { files_to_read: [{ path: "a.ts", line: "1-2" }] }, ["files_to_read", 0]],
    [
      "files_to_modify",
      { files_to_modify: [{ path: "a.ts", action: "edit", mode: 1 }] },
      ["files_to_modify", 0],
    ],
    ["snippets", { snippets: [{ language: "ts", code: "x", lang: "ts" }] }, ["snippets", 0]],
    ["validation", { validation: [{ run: "true", expect: 0 }] }, ["validation", 0]],
  ])("rejects an unknown field nested in %s", (_name, over, path) => {
    expect(issuesOf(rawSpec(over))).toEqual([expect.objectContaining({ code: "unrecognized_keys", path })]);
  });

  it.each(["10", "10-", "a-b", "10 - 40", "-3-4", "1-2-3", ""])("rejects lines %j", (lines) => {
    const issues = issuesOf(rawSpec({ files_to_read: [{ path: "a.ts", lines }] }));
    expect(issues[0]!.path).toEqual(["files_to_read", 0, "lines"]);
  });

  it.each(["Split", "-split", "split_todoist", "split todoist", "", "a".repeat(49)])(
    "rejects project slug %j",
    (project) => {
      expect(issuesOf(rawSpec({ project }))[0]!.path).toEqual(["project"]);
    },
  );

  it.each(["01-setup", "p/1-setup", "p/01-Setup", "p/01_setup", "-p/01-setup", "p/01-setup/x"])(
    "rejects depends_on id %j",
    (id) => {
      expect(issuesOf(rawSpec({ depends_on: [id] }))[0]!.path).toEqual(["depends_on", 0]);
    },
  );

  it("rejects empty steps, an empty step and empty files_to_modify", () => {
    expect(issuesOf(rawSpec({ steps: [] }))[0]).toMatchObject({ code: "too_small", path: ["steps"] });
    expect(issuesOf(rawSpec({ steps: [""] }))[0]).toMatchObject({ code: "too_small", path: ["steps", 0] });
    expect(issuesOf(rawSpec({ files_to_modify: [] }))[0]).toMatchObject({
      code: "too_small",
      path: ["files_to_modify"],
    });
  });

  it("rejects an action other than create or edit", () => {
    expect(issuesOf(rawSpec({ files_to_modify: [{ path: "a", action: "delete" }] }))[0]).toMatchObject({
      code: "invalid_value",
      path: ["files_to_modify", 0, "action"],
    });
  });

  it("rejects a validation exit code that is not an integer 0-255", () => {
    for (const expect_exit of [1.5, -1, 256]) {
      expect(issuesOf(rawSpec({ validation: [{ run: "x", expect_exit }] }))[0]!.path).toEqual([
        "validation",
        0,
        "expect_exit",
      ]);
    }
  });
});

describe("storedTaskSchema", () => {
  it("accepts a stored task and rejects a bad status or a missing derived field", () => {
    expect(storedTaskSchema.parse(storedTask())).toEqual(storedTask());
    expect(storedTaskSchema.safeParse(storedTask({ status: "done" as never })).success).toBe(false);
    const { estimate: _drop, ...noEstimate } = storedTask();
    expect(storedTaskSchema.safeParse(noEstimate).success).toBe(false);
  });
});

describe("task ids and slugs", () => {
  it("parses and formats task ids", () => {
    expect(parseTaskId("split-todoist/03-add-parser")).toEqual({
      project: "split-todoist",
      number: 3,
      slug: "add-parser",
    });
    expect(parseTaskId("p/123-x")).toEqual({ project: "p", number: 123, slug: "x" });
    for (const bad of ["p/3-x", "p/03", "03-x", "P/03-x", "p/03-x/y", "-p/03-x", "p/03--"]) {
      expect(parseTaskId(bad), bad).toBeNull();
    }
    expect(formatTaskId("p", 1, "x")).toBe("p/01-x");
    expect(formatTaskId("p", 10, "x")).toBe("p/10-x");
    expect(formatTaskId("p", 123, "x")).toBe("p/123-x");
  });

  it("slugifies titles", () => {
    expect(slugify("Add the CSV parser!")).toBe("add-the-csv-parser");
    expect(slugify("  --Rename `foo` → bar--  ")).toBe("rename-foo-bar");
    expect(slugify("Crème brûlée")).toBe("creme-brulee");
    expect(slugify("!!!")).toBe("task");
    const long = slugify("word ".repeat(30));
    expect(long.length).toBeLessThanOrEqual(40);
    expect(long.endsWith("-")).toBe(false);
  });

  it("parses line ranges", () => {
    expect(parseLines("10-40")).toEqual({ start: 10, end: 40 });
    expect(parseLines("10")).toBeNull();
  });
});
