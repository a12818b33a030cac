/** The repository and the task specs most e2e tests share: src/math.ts exports add; a task adds subtract. */
import { toolUse } from "../fakes/llm-server.js";

export const MATH = "export function add(a: number, b: number): number {\n  return a + b;\n}\n";
export const SUBTRACT = "export function subtract(a: number, b: number): number {\n  return a - b;\n}\n";

/** A passing spec for src/math.ts (the executor adds subtract); override any field. */
export function spec(title: string, overrides: Record<string, unknown> = {}) {
  return {
    project: "calc",
    title,
    objective: "Add a subtract function next to add in src/math.ts.",
    files_to_read: [{ path: "src/math.ts", lines: "1-3" }],
    files_to_modify: [{ path: "src/math.ts", action: "edit" }],
    steps: ["Add an exported function subtract(a, b) after add that returns a - b."],
    acceptance_criteria: ["src/math.ts exports subtract"],
    validation: [{ run: "grep -q 'export function subtract' src/math.ts" }],
    ...overrides,
  };
}

/** spec() as a planner writes it in full: with context, a typed step and the function as a snippet. */
export function fullSpec(overrides: Record<string, unknown> = {}) {
  return spec("Add subtract function", {
    context: "The module exports pure arithmetic helpers.",
    steps: ["Add an exported function subtract(a: number, b: number): number after add that returns a - b."],
    snippets: [{ language: "ts", code: SUBTRACT.trim() }],
    ...overrides,
  });
}

/** The executor's edit that makes spec()'s validation pass, and its finish. */
export const editSubtract = toolUse("edit_file", {
  path: "src/math.ts",
  old_string: "  return a + b;\n}\n",
  new_string: `  return a + b;\n}\n\n${SUBTRACT}`,
});
export const finish = toolUse("finish", { status: "complete", summary: "Added subtract." });
