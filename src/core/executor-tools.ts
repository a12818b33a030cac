import type { ToolSpec } from "./tool-spec.js";

/** The executor's tool interface (DESIGN "Executor"): names and arguments are part of the contract. */
export const EXECUTOR_TOOLS: ToolSpec[] = [
  {
    name: "read_file",
    description: "Read a file listed in the task, optionally a line range. Returns numbered lines.",
    inputSchema: {
      type: "object",
      properties: {
        path: { type: "string" },
        start_line: { type: "integer", minimum: 1 },
        end_line: { type: "integer", minimum: 1 },
      },
      required: ["path"],
      additionalProperties: false,
    },
  },
  {
    name: "write_file",
    description: "Write the whole content of a file listed under Files to modify.",
    inputSchema: {
      type: "object",
      properties: { path: { type: "string" }, content: { type: "string" } },
      required: ["path", "content"],
      additionalProperties: false,
    },
  },
  {
    name: "edit_file",
    description:
      "Replace old_string with new_string in a file under Files to modify. old_string must match exactly once.",
    inputSchema: {
      type: "object",
      properties: {
        path: { type: "string" },
        old_string: { type: "string" },
        new_string: { type: "string" },
      },
      required: ["path", "old_string", "new_string"],
      additionalProperties: false,
    },
  },
  {
    name: "run_validation",
    description: "Run the task's validation commands. Returns pass/fail and output of failures.",
    inputSchema: { type: "object", properties: {}, additionalProperties: false },
  },
  {
    name: "finish",
    description: "End the task with a status and a summary in the required format.",
    inputSchema: {
      type: "object",
      properties: {
        status: { type: "string", enum: ["complete", "failed"] },
        summary: { type: "string" },
      },
      required: ["status", "summary"],
      additionalProperties: false,
    },
  },
];
