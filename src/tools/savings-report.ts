import { z } from "zod";
import { projectField } from "../core/mini-task.js";
import { renderReportTable } from "../core/report-render.js";
import { savingsReportSchema } from "../core/savings.js";
import { defineTool } from "./define.js";

/** Task rows in the answer (≈ 90 tokens each). */
export const TASKS_MAX = 100;

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
    const logPath = built.logRel;
    const { tasks: all, warnings, ...rest } = built.report;
    // Per-task rows beyond TASKS_MAX would push the answer toward the clients' size cap; LOG.md has them all.
    const structured = {
      ...rest,
      tasks: all.slice(0, TASKS_MAX),
      warnings:
        all.length > TASKS_MAX
          ? [...warnings, `${all.length - TASKS_MAX} more task(s) are in ${logPath}.`]
          : warnings,
      log_path: logPath,
    };
    return {
      structured,
      headline: structured.log_path,
      text: `${structured.log_path}\n${renderReportTable(built.report)}`,
    };
  },
});
