import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../core/errors.js";
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
    const ws = await ctx.workspace();
    const { tasks } = await (await ctx.tasks()).list({ project });
    const [{ buildSavingsReport }, { LEDGER_FILE, Ledger }] = await Promise.all([
      import("../store/report.js"),
      import("../store/ledger.js"),
    ]);
    // A typo must not create a phantom project with an empty LOG.md.
    if (
      tasks.length === 0 &&
      (await new Ledger(join(ws.dir, LEDGER_FILE)).read({ project })).entries.length === 0
    ) {
      const known = await (await ctx.tasks()).projects();
      throw new UserError(
        `project "${project}" has no tasks and no ledger records${known.length ? `; known projects: ${known.slice(0, 10).join(", ")}` : ""}.`,
        "project",
      );
    }
    const built = await buildSavingsReport({
      workspaceRoot: ws.root,
      dir: ws.dir,
      project,
      config: await ctx.config(),
      tasks: tasks.map((t) => ({ id: t.id, status: t.status, estimate: t.estimate })),
    });
    const logPath = `${ws.dirRel}/${project}/LOG.md`;
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
    return { structured, text: `${structured.log_path}\n${renderReportTable(built.report)}` };
  },
});
