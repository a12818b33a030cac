import { z } from "zod";
import { projectField } from "../core/mini-task.js";
import { renderReportTable } from "../core/report-render.js";
import { type SavingsReport, savingsReportSchema } from "../core/savings-report.js";
import { RESULT_BUDGET_BYTES } from "./budget.js";
import { defineTool } from "./define.js";

/** Task rows in the answer at most (≈ 90 tokens each); LOG.md has them all. */
export const TASKS_MAX = 100;
/** Model rows and warnings at most: log_tokens takes any model id, so both can grow without end. */
const MODELS_MAX = 20;
const WARNINGS_MAX = 20;

export const savingsReportTool = defineTool({
  name: "savings_report",
  description:
    "A project's actual cost vs the all-big counterfactual: savings, usage by phase and model, estimate vs actual per task. Writes LOG.md.",
  input: z.object({ project: projectField }).strict(),
  output: savingsReportSchema.extend({ log_path: z.string() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handle({ project }, ctx) {
    const { projectReport } = await import("../store/report.js");
    const built = await projectReport(
      await ctx.workspace(),
      await ctx.tasks(),
      await ctx.config(),
      project,
      ctx.server.env,
    );
    return boundedReport(built.report, built.logRel);
  },
});

/**
 * The answer with as many task rows as fit: at most TASKS_MAX, fewer when the structured result
 * or its text would pass the result budget; the rest are named by count and left in LOG.md.
 */
export function boundedReport(report: SavingsReport, logPath: string) {
  const { tasks: all, warnings: allWarnings, by_model: allModels } = report;
  const by_model = allModels.slice(0, MODELS_MAX);
  const cut = [
    ...allWarnings.slice(0, WARNINGS_MAX),
    ...(allWarnings.length > WARNINGS_MAX
      ? [`${allWarnings.length - WARNINGS_MAX} more warning(s) are in ${logPath}.`]
      : []),
    ...(allModels.length > MODELS_MAX
      ? [`${allModels.length - MODELS_MAX} more model(s) are in ${logPath}.`]
      : []),
  ];
  const answer = (shown: number) => {
    const tasks = all.slice(0, shown);
    const warnings =
      all.length > shown ? [...cut, `${all.length - shown} more task(s) are in ${logPath}.`] : cut;
    // Spread first: the replaced fields keep their places, project and costs first.
    const structured = { ...report, by_model, tasks, warnings, log_path: logPath };
    const text = `${logPath}\n${renderReportTable({ ...report, by_model, tasks, warnings })}`;
    return { structured, headline: logPath, text };
  };
  let shown = Math.min(all.length, TASKS_MAX);
  let result = answer(shown);
  while (
    shown > 0 &&
    Math.max(Buffer.byteLength(JSON.stringify(result.structured)), Buffer.byteLength(result.text)) >
      RESULT_BUDGET_BYTES
  ) {
    shown = Math.floor(shown / 2);
    result = answer(shown);
  }
  return result;
}
