import type { Estimate, MiniTaskSpec, StoredTask } from "./mini-task.js";
import { formatTokens } from "./report-render.js";

function bullets(items: string[], empty = "_none_"): string {
  return items.length ? items.map((s) => `- ${s}`).join("\n") : empty;
}

function fence(code: string, language = ""): string {
  const longest = Math.max(2, ...[...code.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  return `${ticks}${language}\n${code.replace(/\n$/, "")}\n${ticks}`;
}

export function formatEstimate(e: Estimate): string {
  const cost = e.cost_usd === null ? "cost unknown (no price for this model)" : `$${e.cost_usd.toFixed(4)}`;
  return `~${formatTokens(e.input_tokens)} input + ~${formatTokens(e.output_tokens)} output tokens on ${e.model}, ${cost}`;
}

/** The workflow's template filled in (templates/mini-task.md); `template` is that file's text. */
export function renderMiniTask(task: StoredTask, template: string): string {
  const values: Record<string, string> = {
    id: task.id,
    title: task.title,
    model: task.estimate.model,
    estimate: formatEstimate(task.estimate),
    status: task.status,
    depends_on: task.depends_on.length ? `\n**Depends on:** ${task.depends_on.join(", ")}` : "",
    objective: task.objective,
    files_to_read: bullets(
      task.files_to_read.map((f) => `\`${f.path}\`${f.lines ? ` (lines ${f.lines})` : ""}`),
    ),
    files_to_modify: bullets(task.files_to_modify.map((f) => `\`${f.path}\` (${f.action})`)),
    context: task.context?.trim() || "_none_",
    steps: task.steps.map((s, i) => `${i + 1}. ${s}`).join("\n"),
    snippets: task.snippets.length
      ? task.snippets
          .map((s) => `${s.purpose ? `${s.purpose}:\n\n` : ""}${fence(s.code, s.language)}`)
          .join("\n\n")
      : "_none_",
    acceptance_criteria: bullets(task.acceptance_criteria.map((c) => `[ ] ${c}`)),
    validation: task.validation.length
      ? fence(
          task.validation
            .map(
              (v) =>
                `${v.run}${v.expect_exit ? `  # expect exit ${v.expect_exit}` : ""}${
                  v.expect_output ? `  # expect output ${v.expect_output}` : ""
                }`,
            )
            .join("\n"),
          "bash",
        )
      : "_none_",
    on_failure: "Stop and report what failed (the failing command and its output). Do not debug.",
    next: task.next?.trim() || "_none_",
  };
  return fillTemplate(template, values);
}

/** `{{name}}` placeholders replaced by `values`; unknown names are left as they are. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

/** The start of `text` within `max` characters, marked with … when cut. */
export function shorten(text: string, max: number): string {
  const t = text.trim();
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

/** The end of `text` within `max` characters (where command output keeps its error), marked when cut. */
export function tail(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(-(max - 1))}`;
}

/** The task as the executor reads it: compact, no decoration, nothing it does not need. */
export function renderTaskForExecutor(spec: MiniTaskSpec): string {
  const parts = [`# Task: ${spec.title}`, `Objective: ${spec.objective}`];
  if (spec.context?.trim()) parts.push(`Context: ${spec.context.trim()}`);
  parts.push(`Files to modify:\n${spec.files_to_modify.map((f) => `- ${f.path} (${f.action})`).join("\n")}`);
  parts.push(`Steps:\n${spec.steps.map((s, i) => `${i + 1}. ${s}`).join("\n")}`);
  if (spec.snippets.length)
    parts.push(
      `Snippets:\n${spec.snippets.map((s) => `${s.purpose ? `${s.purpose}:\n` : ""}${fence(s.code, s.language)}`).join("\n")}`,
    );
  if (spec.acceptance_criteria.length)
    parts.push(`Acceptance criteria:\n${spec.acceptance_criteria.map((c) => `- ${c}`).join("\n")}`);
  parts.push(
    `Validation (the server runs these after finish):\n${spec.validation.map((v) => `- ${v.run}`).join("\n")}`,
  );
  return parts.join("\n\n");
}

/** Lines `start..end` (1-based, inclusive) of `text`, each prefixed with its number. */
export function numberLines(text: string, start = 1, end?: number): string {
  if (text === "") return ""; // no lines (countLines says 0), not one empty line 1
  const lines = text.split("\n");
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  const last = Math.min(end ?? lines.length, lines.length);
  const out: string[] = [];
  // "N<tab>line", unpadded: a third fewer tokens than right-aligned numbers, still unambiguous.
  for (let n = start; n <= last; n++) out.push(`${n}\t${withoutLineBreaks(lines[n - 1]!)}`);
  return out.join("\n");
}

/**
 * A line as shown to a model: line breaks other than "\n" (a lone CR, U+2028, VT, FF, NEL) written
 * as escapes, so file content cannot start an unnumbered line of its own — e.g. a fake `</file>`
 * ending the data block early. A CRLF file's final CR stays as it is.
 */
function withoutLineBreaks(line: string): string {
  const body = line.endsWith("\r") ? line.slice(0, -1) : line;
  const shown = body.replace(
    /[\r\v\f\u0085\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return body === line ? shown : `${shown}\r`;
}

export function countLines(text: string): number {
  if (text === "") return 0;
  const n = text.split("\n").length;
  return text.endsWith("\n") ? n - 1 : n;
}
