import { z } from "zod";

import { LINES_INPUT_RE, LINES_RE, SLUG_RE, TASK_ID_RE, TEMPLATE_ID_RE } from "./ids.js";

export { LINES_RE, SLUG_RE, TASK_ID_RE, TEMPLATE_ID_RE };

export const TASK_STATUSES = [
  "ready",
  "running",
  "passed",
  "failed",
  "budget_exceeded",
  "cancelled",
  "error",
  "accepted",
  "discarded",
  "blocked",
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

// Input limits far above any real spec, so a caller's mistake cannot make the server store,
// tokenize or echo megabytes (each is one clear error naming the field).
const path = z.string().min(1, "must be a non-empty path relative to the workspace").max(1024);

export const fileToReadSchema = z
  .object({
    path,
    lines: z
      .string()
      .max(64)
      // A check, not a JSON Schema pattern: the pattern would cost the planner ~40 tokens a turn.
      .refine(
        (v) => LINES_INPUT_RE.test(v),
        "must look like START-END, e.g. 10-40 (in a template also {{name}})",
      )
      .optional()
      .describe("START-END, 1-based, inclusive; {{name}} in a template"),
  })
  .strict();

export const fileToModifySchema = z
  .object({
    path,
    action: z.enum(["create", "edit"]),
  })
  .strict();

export const snippetSchema = z
  .object({
    language: z.string().min(1).max(40),
    code: z.string().min(1).max(20_000),
    purpose: z.string().max(500).optional(),
  })
  .strict();

/**
 * Longest validation line: a real one is a few hundred characters. Even at 4 UTF-8 bytes a
 * character this stays far below Linux's 128 KiB limit on one argument, so a stored line can run.
 */
export const RUN_MAX_CHARS = 8000;

/** One shell line: bounded, and without the NUL byte no command line can hold. */
export const shellLineField = z
  .string()
  .min(1, "must be a shell command")
  .max(RUN_MAX_CHARS)
  .refine((s) => !s.includes("\0"), "must not contain a NUL byte (no shell line can hold one); remove it");

export const validationCommandSchema = z
  .object({
    run: shellLineField,
    expect_exit: z.number().int().min(0).max(255).optional().describe("default 0"),
    expect_output: z.string().min(1).max(1000).optional().describe("substring, or /regex/"),
    timeout_s: z.number().positive().max(3600).optional(),
  })
  .strict();

/** A model alias or provider model id; real ids (OpenRouter, Bedrock profiles) fit well within the cap. */
export const modelField = z.string().min(1).max(128).describe("alias or model id");

/** A project slug, as every tool takes it. */
export const projectField = z.string().regex(SLUG_RE, "must be a project slug");

// A refinement, not a regex: the pattern would be repeated in every tool's schema the planner pays for.
export const taskIdField = z
  .string()
  .refine((id) => TASK_ID_RE.test(id), "must be a task id like my-project/01-add-parser");

/** One target of a template: `{{name}}` placeholders in the spec take these values. */
export const targetSchema = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,39}$/, "must be a variable name like file or fn_name"),
    z.union([z.string().max(500), z.number()]).transform(String),
  )
  .refine((t) => Object.keys(t).length > 0 && Object.keys(t).length <= 20, "must give 1 to 20 variables");
export type Target = Record<string, string>;

/** The caller's spec: what `create_mini_task` takes. */
export const miniTaskSpecShape = {
  project: z.string().regex(SLUG_RE, "must be a lowercase slug like split-todoist"),
  title: z.string().min(3).max(120),
  objective: z.string().min(1).max(400).describe("one sentence"),
  context: z.string().max(4000).optional().describe("≤ 100 words"),
  files_to_read: z.array(fileToReadSchema).max(20).default([]),
  files_to_modify: z.array(fileToModifySchema).min(1, "must list at least one file").max(20),
  steps: z.array(z.string().min(1).max(2000)).min(1, "must have at least one step").max(40),
  snippets: z.array(snippetSchema).max(20).default([]),
  acceptance_criteria: z.array(z.string().min(1).max(1000)).max(30).default([]),
  validation: z.array(validationCommandSchema).max(20).default([]),
  model: modelField.optional(),
  depends_on: z
    .array(z.string().regex(TASK_ID_RE, "must be a task id like proj/01-slug"))
    .max(20)
    .default([]),
  next: z.string().max(1000).optional(),
  targets: z
    .array(targetSchema)
    .min(1)
    .max(100)
    .optional()
    .describe("one task per target; {{var}} in title, paths, steps, snippets, criteria, validation"),
};

export const miniTaskSpecSchema = z.object(miniTaskSpecShape).strict();
export type MiniTaskSpec = z.infer<typeof miniTaskSpecSchema>;
export type ValidationCommand = z.infer<typeof validationCommandSchema>;

export const estimateSchema = z
  .object({
    input_tokens: z.number().int().nonnegative(),
    output_tokens: z.number().int().nonnegative(),
    cost_usd: z.number().nonnegative().nullable(),
    model: z.string(),
  })
  .strict();
export type Estimate = z.infer<typeof estimateSchema>;

export const lintIssueSchema = z
  .object({
    level: z.enum(["error", "warning"]),
    field: z.string(),
    message: z.string(),
  })
  .strict();
export type LintIssue = z.infer<typeof lintIssueSchema>;

export const usageSchema = z
  .object({
    input_tokens: z.number().int().nonnegative(),
    output_tokens: z.number().int().nonnegative(),
    cache_read_tokens: z.number().int().nonnegative(),
    cache_write_tokens: z.number().int().nonnegative(),
    cost_usd: z.number().nonnegative().nullable(),
    model: z.string(),
  })
  .strict();

export const fileChangeSchema = z
  .object({ path: z.string(), added: z.number().int(), removed: z.number().int() })
  .strict();

export const failedCommandSchema = z
  .object({ run: z.string(), exit_code: z.number().int().nullable(), output: z.string() })
  .strict();

export const validationSummarySchema = z
  .object({
    passed: z.boolean(),
    ran: z.number().int().nonnegative(),
    failed: z.array(failedCommandSchema).optional(),
  })
  .strict();

/** One dispatch of a task to one model. */
export const attemptSchema = z
  .object({
    n: z.number().int().positive(),
    status: z.enum(TASK_STATUSES),
    model: z.string(),
    provider: z.string(),
    started_at: z.string(),
    finished_at: z.string().optional(),
    turns: z.number().int().nonnegative(),
    usage: usageSchema,
    files_changed: z.array(fileChangeSchema),
    out_of_scope: z
      .array(z.string())
      .describe("paths the executor touched outside files_to_modify, reverted"),
    refused: z.array(z.string()).describe("tool calls refused to the executor"),
    validation: validationSummarySchema.optional(),
    report: z.string().optional(),
    error: z.string().optional(),
    branch: z.string().optional(),
    worktree: z.string().optional(),
    base_commit: z.string().optional(),
    head_commit: z.string().optional(),
    escalation_of: z.number().int().positive().optional(),
  })
  .strict();
export type Attempt = z.infer<typeof attemptSchema>;

/** A change of the task's validation after a dispatch (run_validation amend): the model is not paid again. */
export const amendmentSchema = z
  .object({
    at: z.string(),
    attempt: z.number().int().positive().describe("the attempt whose worktree the new commands ran on"),
    from: z.array(validationCommandSchema),
    to: z.array(validationCommandSchema),
    passed: z.boolean(),
  })
  .strict();
export type Amendment = z.infer<typeof amendmentSchema>;

/** The stored task: the spec plus what the server derives. */
export const storedTaskSchema = miniTaskSpecSchema
  .omit({ targets: true })
  .extend({
    /** The template id (`<project>/t<NN>-<slug>`) a task was expanded from, with its target. */
    template: z.string().regex(TEMPLATE_ID_RE).optional(),
    target: z.record(z.string(), z.string()).optional(),
    id: z.string().regex(TASK_ID_RE),
    number: z.number().int().positive(),
    slug: z.string().regex(SLUG_RE),
    status: z.enum(TASK_STATUSES),
    estimate: estimateSchema,
    lint: z.array(lintIssueSchema),
    attempts: z.array(attemptSchema),
    amendments: z.array(amendmentSchema).optional(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .strict();
export type StoredTask = z.infer<typeof storedTaskSchema>;

/** `my-project/03-add-parser` → parts, or null. */
export function parseTaskId(id: string): { project: string; number: number; slug: string } | null {
  const m = TASK_ID_RE.exec(id);
  if (!m) return null;
  return { project: m[1]!, number: Number(m[2]), slug: m[3]! };
}

export function formatTaskId(project: string, number: number, slug: string): string {
  return `${project}/${String(number).padStart(2, "0")}-${slug}`;
}

export function formatTemplateId(project: string, number: number, slug: string): string {
  return `${project}/t${String(number).padStart(2, "0")}-${slug}`;
}

/** A slug from a title: "Add the CSV parser!" → "add-the-csv-parser" (at most 40 chars). */
export function slugify(title: string): string {
  const s = title
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "") // drop the accents NFKD split off: "crème" → "creme", not "cre-me"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/g, "");
  return s || "task";
}

export function parseLines(lines: string): { start: number; end: number } | null {
  const m = LINES_RE.exec(lines);
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]) };
}
