import type { Config } from "../config/schema.js";
import { shown, UserError } from "../core/errors.js";
import { type LintIssue, type MiniTaskSpec, miniTaskSpecSchema, TEMPLATE_ID_RE } from "../core/mini-task.js";
import { describeIssue, fieldPath } from "../core/zod-errors.js";
import { createMiniTasks } from "./create-task.js";
import type { TaskStore } from "./tasks.js";
import type { Workspace } from "./workspace.js";

/** What dispatch_to_small_model may be asked to run: ids, a template's tasks, or specs to create first. */
export interface TaskSelection {
  task_id?: string | undefined;
  task_ids?: string[] | undefined;
  template?: string | undefined;
  specs?: unknown[] | undefined;
}

/** Longest refusal text: every problem's field is always named, messages while they fit. */
const REFUSAL_MAX_CHARS = 1500;

/** One refusal naming every field at fault: full sentences while they fit, then the other fields. */
export function refusalText(lead: string, problems: { field: string; message: string }[]): string {
  let text = lead;
  const rest: string[] = [];
  for (const p of problems) {
    const sentence = p.message.startsWith(p.field) ? p.message : `${p.field}: ${p.message}`;
    if (rest.length === 0 && text.length + sentence.length + 1 <= REFUSAL_MAX_CHARS)
      text += ` ${shown(sentence, 400)}`;
    else rest.push(p.field);
  }
  if (rest.length) {
    const named =
      rest.length > 40 ? `${rest.slice(0, 40).join(", ")} and ${rest.length - 40} more` : rest.join(", ");
    text += ` Also at fault: ${named}.`;
  }
  return text;
}

function specIndex(field: string): number {
  return Number(/^specs\[(\d+)\]/.exec(field)?.[1] ?? 0);
}

/**
 * The task ids a dispatch runs. Inline specs are validated strictly and created (lint, estimate,
 * store) first; any spec that is malformed or has blocking lint refuses the whole call, naming
 * each spec by index and field (`specs[1].validation`), and nothing is stored.
 */
export async function selectTasks(
  ws: Workspace,
  store: TaskStore,
  config: Config,
  input: TaskSelection,
): Promise<{ ids: string[]; created: string[] }> {
  const created: string[] = [];
  const ids = [...(input.task_id ? [input.task_id] : []), ...(input.task_ids ?? [])];
  if (input.template) {
    if (!TEMPLATE_ID_RE.test(input.template))
      throw new UserError(
        `template "${shown(input.template, 80)}" is not a template id; use the id create_mini_task returned (project/tNN-slug).`,
        "template",
      );
    const { tasks } = await store.list({ template: input.template });
    if (tasks.length === 0)
      throw new UserError(
        `template ${input.template} has no tasks; list_tasks shows the templates' tasks.`,
        "template",
      );
    ids.push(...tasks.map((t) => t.id));
  }
  if (input.specs?.length) {
    const specs: MiniTaskSpec[] = [];
    const index: number[] = [];
    const problems: { field: string; message: string }[] = [];
    input.specs.forEach((raw, i) => {
      const parsed = miniTaskSpecSchema.safeParse(raw);
      if (parsed.success) {
        specs.push(parsed.data);
        index.push(i);
      } else
        for (const issue of parsed.error.issues)
          problems.push({
            field: fieldPath([`specs[${i}]`, ...issue.path]),
            message: describeIssue(issue, `specs[${i}]`),
          });
    });
    // Malformed specs are reported together with the others' blocking lint; nothing is stored.
    const batch = await createMiniTasks(ws, store, config, specs, {
      fieldPrefix: (j) => `specs[${index[j]}].`,
      dryRun: problems.length > 0,
    });
    const errors = [...problems, ...batch.lint.filter((l: LintIssue) => l.level === "error")];
    if (errors.length || !batch.stored) {
      errors.sort((a, b) => specIndex(a.field) - specIndex(b.field));
      throw new UserError(refusalText("Nothing stored or run:", errors), errors[0]?.field);
    }
    created.push(...batch.results.flatMap((r) => r.tasks.map((t) => t.id)));
    ids.push(...created);
  }
  if (ids.length === 0)
    throw new UserError("Give task_id, task_ids, template or specs (create_mini_task's fields).", "task_id");
  return { ids, created };
}
