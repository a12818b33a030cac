import { createMiniTaskTool } from "./create-mini-task.js";
import { getTaskTool } from "./get-task.js";
import { listTasksTool } from "./list-tasks.js";

/** Every MCP tool, in the order clients list them. */
export const TOOLS = [createMiniTaskTool, listTasksTool, getTaskTool] as const;
