import { createMiniTaskTool } from "./create-mini-task.js";
import { dispatchTool } from "./dispatch.js";
import { getTaskTool } from "./get-task.js";
import { listTasksTool } from "./list-tasks.js";
import { logTokensTool } from "./log-tokens.js";
import { acceptTaskTool, discardTaskTool, reviewTaskTool } from "./review.js";
import { runValidationTool } from "./run-validation.js";
import { savingsReportTool } from "./savings-report.js";
import { shouldDelegateTool } from "./should-delegate.js";

/**
 * Every MCP tool, in the order clients list them. Tool files import their domain modules inside
 * the handler (dynamic import), so starting the server loads schemas only.
 */
export const TOOLS = [
  shouldDelegateTool,
  createMiniTaskTool,
  dispatchTool,
  reviewTaskTool,
  acceptTaskTool,
  discardTaskTool,
  runValidationTool,
  logTokensTool,
  savingsReportTool,
  listTasksTool,
  getTaskTool,
] as const;
