import { createMiniTaskTool } from "./create-mini-task.js";
import { dispatchTool } from "./dispatch.js";
import { getTaskTool } from "./get-task.js";
import { listTasksTool } from "./list-tasks.js";
import { logTokensTool } from "./log-tokens.js";
import { runValidationTool } from "./run-validation.js";
import { savingsReportTool } from "./savings-report.js";

/** Every MCP tool, in the order clients list them. */
export const TOOLS = [
  createMiniTaskTool,
  dispatchTool,
  runValidationTool,
  logTokensTool,
  savingsReportTool,
  listTasksTool,
  getTaskTool,
] as const;
