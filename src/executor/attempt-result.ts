/**
 * What the planner sees of one attempt in a dispatch result: status, files, a bounded validation
 * summary and the executor's report, shortened.
 */
import type { TaskStatus } from "../core/mini-task.js";
import { shorten, tail } from "../core/render.js";
import type { Usage } from "../core/usage.js";
import type { ValidationRun } from "../validation/runner.js";

/** Output tail kept per failing command in the planner's result (≈ 1,500 tokens budget overall). */
export const FAILED_OUTPUT_CHARS = 1800;
/** The executor's report as the planner sees it in a dispatch result. */
export const REPORT_CHARS = 400;
/**
 * What one attempt keeps in the task file, which is rewritten on every update: the report's first
 * 4,000 characters, the error's first 1,000, each failing command's first 200 (its output tail is
 * FAILED_OUTPUT_CHARS) and at most REFUSED_KEPT refused calls (scope.ts). The rest is dropped.
 */
export const STORED_REPORT_CHARS = 4000;
export const STORED_ERROR_CHARS = 1000;
export const STORED_RUN_CHARS = 200;

export interface TaskResult {
  task_id: string;
  status: TaskStatus;
  attempt: number;
  files_changed: { path: string; added: number; removed: number }[];
  validation: {
    passed: boolean;
    ran: number;
    failed?: { run: string; exit_code: number | null; output: string }[];
  };
  usage: Usage & { cost_usd: number | null; model: string };
  report: string;
  out_of_scope?: string[];
  escalated_from?: string;
}

export function summarizeValidation(run: ValidationRun | undefined): TaskResult["validation"] {
  if (!run) return { passed: false, ran: 0 };
  const ran = run.results.filter((r) => !r.skipped).length;
  if (run.passed) return { passed: true, ran };
  const failed = run.results
    .filter((r) => !r.passed && !r.skipped)
    .map((r) => ({
      run: shorten(r.run, STORED_RUN_CHARS),
      exit_code: r.exit_code,
      output: tail(`${r.error ? `${r.error}\n` : ""}${r.output}`, FAILED_OUTPUT_CHARS),
    }));
  return { passed: false, ran, failed };
}

/** The report stored on the attempt: the executor's, or why there is none. */
export function storedReport(
  status: TaskStatus,
  error: string | undefined,
  executorReport: string | undefined,
): string {
  return shorten(
    executorReport ??
      (status === "blocked"
        ? `Blocked: ${error}`
        : error
          ? `No report: ${error}`
          : "The executor gave no report."),
    STORED_REPORT_CHARS,
  );
}

/** The report in the planner's result: the server's reason first when the attempt did not pass. */
export function plannerReport(
  status: TaskStatus,
  error: string | undefined,
  executorReport: string | undefined,
  stored: string,
): string {
  return shorten(
    error && status !== "passed" && status !== "failed"
      ? executorReport
        ? `${error} Executor: ${executorReport}`
        : error
      : stored,
    REPORT_CHARS,
  );
}
