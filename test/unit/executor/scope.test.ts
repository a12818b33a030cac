import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { miniTaskSpecSchema } from "../../../src/core/mini-task.js";
import { closestMatch, ExecutorTools, withoutLineNumbers } from "../../../src/executor/scope.js";

const MATH = "export function add(a: number, b: number): number {\n  return a + b;\n}\n";

let root: string;
let validations = 0;

function tools() {
  const spec = miniTaskSpecSchema.parse({
    project: "p",
    title: "Edit math",
    objective: "x",
    files_to_read: [{ path: "src/big.ts", lines: "10-20" }],
    files_to_modify: [{ path: "src/math.ts", action: "edit" }],
    steps: ["Edit it."],
    acceptance_criteria: ["ok"],
    validation: [{ run: "true" }],
  });
  return new ExecutorTools(root, spec, "mini-projects", async () => {
    validations++;
    return { passed: true, results: [] };
  });
}

const call = (t: ExecutorTools, name: string, args: Record<string, unknown>) =>
  t.call({ id: "c1", name, arguments: args });

beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), "delegate-scope-")));
  mkdirSync(join(root, "src"));
  writeFileSync(join(root, "src/math.ts"), MATH);
  writeFileSync(join(root, "src/big.ts"), Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join("\n"));
  validations = 0;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("ExecutorTools", () => {
  it("edit_file accepts an old_string copied with the excerpt's line numbers, and says so", async () => {
    const t = tools();
    const r = await call(t, "edit_file", {
      path: "src/math.ts",
      old_string: "2\t  return a + b;\n3\t}",
      new_string: "2\t  return b + a;\n3\t}",
    });
    expect(r.isError).toBe(false);
    expect(r.content).toMatch(/line numbers removed/);
    expect(readFileSync(join(root, "src/math.ts"), "utf8")).toBe(MATH.replace("a + b", "b + a"));
  });

  it("edit_file with numbered old_string but an unnumbered new_string keeps new_string as given", async () => {
    const r = await call(tools(), "edit_file", {
      path: "src/math.ts",
      old_string: "2\t  return a + b;",
      new_string: "  return 0;",
    });
    expect(r.isError).toBe(false);
    expect(readFileSync(join(root, "src/math.ts"), "utf8")).toContain("  return 0;\n}");
  });

  it("edit_file writes nothing on no match, naming the closest line", async () => {
    const r = await call(tools(), "edit_file", {
      path: "src/math.ts",
      old_string: "  return a - b;",
      new_string: "x",
    });
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(/closest text is at line 2/);
    expect(readFileSync(join(root, "src/math.ts"), "utf8")).toBe(MATH);
  });

  it("read_file is limited to listed files and listed ranges of read-only files", async () => {
    const t = tools();
    expect(
      (await call(t, "read_file", { path: "src/big.ts", start_line: 12, end_line: 14 })).content,
    ).toContain("12\tline 12");
    const outside = await call(t, "read_file", { path: "src/big.ts", start_line: 30 });
    expect(outside.isError).toBe(true);
    expect(outside.content).toMatch(/only lines 10-20/);
    expect((await call(t, "read_file", { path: "src/other.ts" })).isError).toBe(true);
    expect(t.refused).toHaveLength(2);
  });

  it("a write after run_validation makes that run stale", async () => {
    const t = tools();
    await call(t, "run_validation", {});
    expect(t.freshValidation?.passed).toBe(true);
    await call(t, "write_file", { path: "src/math.ts", content: "x\n" });
    expect(t.freshValidation).toBeUndefined();
    expect(validations).toBe(1);
  });

  it("unknown tools and invalid JSON arguments are answered, not thrown", async () => {
    const t = tools();
    expect((await call(t, "delete_everything", {})).isError).toBe(true);
    const bad = await t.call({
      id: "c2",
      name: "edit_file",
      arguments: {},
      argumentsError: "Unexpected token",
    });
    expect(bad).toMatchObject({ isError: true });
    expect(bad.content).toMatch(/not valid JSON/);
  });
});

describe("helpers", () => {
  it("withoutLineNumbers strips N<tab> from every line or returns null", () => {
    expect(withoutLineNumbers("1\ta\n2\tb\n")).toBe("a\nb\n");
    expect(withoutLineNumbers("1\ta\nb")).toBeNull();
    expect(withoutLineNumbers("plain")).toBeNull();
  });

  it("closestMatch finds the most similar window", () => {
    expect(closestMatch("alpha\nbeta gamma\ndelta\n", "beta gama")?.line).toBe(2);
    expect(closestMatch("alpha\n", "zzzzzz")).toBeNull();
  });
});
