import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { fillTemplate } from "./core/render.js";
import { readTemplate } from "./store/templates.js";

/** plan_delegation (phase 1) and verify_delegation (phase 3). */
export function registerPrompts(server: McpServer): void {
  server.registerPrompt(
    "plan_delegation",
    {
      title: "Plan a delegation",
      description: "Phase 1: explore, decide, and split the goal into mini-tasks for a small model.",
      argsSchema: {
        goal: z.string().describe("What you want done"),
        project: z.string().describe("Project slug, e.g. split-todoist"),
      },
    },
    async ({ goal, project }) => {
      const [plan, template] = await Promise.all([
        readTemplate("plan-delegation.md"),
        readTemplate("mini-task.md"),
      ]);
      return {
        messages: [
          { role: "user", content: { type: "text", text: fillTemplate(plan, { goal, project, template }) } },
        ],
      };
    },
  );
  server.registerPrompt(
    "verify_delegation",
    {
      title: "Verify a delegation",
      description: "Phase 3: review, test, accept or discard each task, log tokens, read the report.",
      argsSchema: { project: z.string().describe("Project slug") },
    },
    async ({ project }) => {
      const text = fillTemplate(await readTemplate("verify-delegation.md"), { project });
      return { messages: [{ role: "user", content: { type: "text", text } }] };
    },
  );
}
