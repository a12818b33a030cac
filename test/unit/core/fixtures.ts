import { type MiniTaskSpec, miniTaskSpecSchema, type StoredTask } from "../../../src/core/mini-task.js";

/** The raw arguments of a valid spec, as a caller would send them. */
export function rawSpec(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    project: "split-todoist",
    title: "Add the CSV parser",
    objective: "Parse todo rows from CSV text.",
    context: "Rows are comma separated with a header line.",
    files_to_read: [{ path: "src/a.ts", lines: "1-3" }],
    files_to_modify: [{ path: "src/a.ts", action: "edit" }],
    steps: ["Add a function parseCsv(text) that returns the rows.", "Export parseCsv from src/a.ts."],
    snippets: [{ language: "ts", code: "export function parseCsv(text: string) {}", purpose: "signature" }],
    acceptance_criteria: ["parseCsv returns one object per row"],
    validation: [{ run: "npx tsc --noEmit" }],
    next: "Wire the parser into the importer.",
    ...over,
  };
}

export function spec(over: Record<string, unknown> = {}): MiniTaskSpec {
  return miniTaskSpecSchema.parse(rawSpec(over));
}

export function storedTask(
  over: Partial<StoredTask> = {},
  specOver: Record<string, unknown> = {},
): StoredTask {
  return {
    ...spec(specOver),
    id: "split-todoist/01-add-the-csv-parser",
    number: 1,
    slug: "add-the-csv-parser",
    status: "ready",
    estimate: { input_tokens: 3210, output_tokens: 420, cost_usd: 0.0054, model: "haiku" },
    lint: [],
    attempts: [],
    created_at: "2025-01-02T03:04:05.000Z",
    updated_at: "2025-01-02T03:04:05.000Z",
    ...over,
  };
}
