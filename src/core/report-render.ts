import { SUBSCRIPTION_BILLED } from "./ledger-entry.js";
import type { SavingsReport, SubscriptionTotal, UsageTotal } from "./savings-report.js";

/** The heading of the section LOG.md keeps across regenerations: it is the user's. */
export const LEARNINGS_HEADING = "## Learnings";

const LEARNINGS_PLACEHOLDER = `${LEARNINGS_HEADING}

<!-- Yours to write; kept when the report is regenerated. What worked, what did not, what to change next time. -->
- 
`;

const PLANNING_PHASES = ["exploration", "planning", "delegation", "other"];
const EXECUTION_PHASES = ["execution", "testing"];

/** "$0.58425": up to 5 decimals, at least 2; null is "unpriced" (never shown as 0). */
export function formatUsd(usd: number | null | undefined): string {
  if (usd === null || usd === undefined) return "unpriced";
  if (usd !== 0 && Math.abs(usd) < 0.000005) return usd < 0 ? "-<$0.00001" : "<$0.00001";
  const fixed = Math.abs(usd)
    .toFixed(5)
    .replace(/0{1,3}$/, "");
  return `${usd < 0 ? "-" : ""}$${fixed}`;
}

/** 40000 → "40,000". Not toLocaleString: its first call loads ICU number data (~20 ms of a cold start). */
export function formatTokens(n: number | undefined): string {
  return String(n ?? 0).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** 43.5507 → "43.6 %"; null → "n/a". */
export function formatPct(pct: number | null | undefined): string {
  if (pct === null || pct === undefined) return "n/a";
  return `${pct.toFixed(1)} %`;
}

function signedPct(pct: number | null): string {
  if (pct === null) return "n/a";
  return `${pct > 0 ? "+" : ""}${pct.toFixed(1)} %`;
}

function costCell(t: UsageTotal): string {
  const cost = formatUsd(t.cost_usd);
  return t.unpriced_records && t.cost_usd !== null ? `${cost} + ${t.unpriced_records} unpriced` : cost;
}

function usageCells(t: UsageTotal): string[] {
  return [
    formatTokens(t.input_tokens),
    formatTokens(t.output_tokens),
    formatTokens(t.cache_read_tokens),
    formatTokens(t.cache_write_tokens),
    costCell(t),
    String(t.records),
  ];
}

/** A by_model row: its cost marked when some of it is billed to a CLI subscription. */
function modelCells(m: UsageTotal & SubscriptionTotal): string[] {
  const cells = usageCells(m);
  if (m.subscription_records) {
    cells[4] =
      m.subscription_records === m.records
        ? `${cells[4]} (subscription)`
        : `${cells[4]} (incl. ${formatUsd(m.subscription_cost_usd)} subscription)`;
  }
  return cells;
}

/**
 * The line under the model table when some executor ran under a CLI's own login: its tokens and
 * notional list price, which the actual cost and the savings count all the same.
 */
export function subscriptionLine(t: SubscriptionTotal): string | undefined {
  const n = t.subscription_records;
  if (!n) return undefined;
  return `Subscription: ${n} executor record${n === 1 ? "" : "s"}, ${formatTokens(t.subscription_tokens)} tokens, ${formatUsd(t.subscription_cost_usd)} at list price: ${SUBSCRIPTION_BILLED}. Actual cost and savings are computed at list price.`;
}

const USAGE_HEADERS = ["Input", "Output", "Cache read", "Cache write", "Cost", "Records"];

type Task = SavingsReport["tasks"][number];

function estimateCell(task: Task): string {
  const e = task.estimate;
  if (!e) return "—";
  return `${formatTokens(e.input_tokens)} / ${formatTokens(e.output_tokens)}, ${formatUsd(e.cost_usd)}`;
}

function errorCell(task: Task): string {
  const err = task.error_pct;
  if (!err) return "—";
  return `${signedPct(err.input)} / ${signedPct(err.output)} / ${signedPct(err.cost)}`;
}

const BASIS_LABEL: Record<SavingsReport["counterfactual_basis"], string> = {
  modelled: "modelled self-execution (the planner's measured context)",
  baseline_estimate: "the planner's own baseline_estimate",
  lower_bound: "lower bound, planner context unknown",
};

const SIDE_LABEL: Record<SavingsReport["terms"][number]["side"], string> = {
  both: "both",
  actual: "actual only",
  counterfactual: "counterfactual",
};

/** The counterfactual three ways: the basis used first, the others beside it. */
function counterfactualRows(r: SavingsReport): [string, string][] {
  const rows: [string, string][] = [];
  const mark = (basis: SavingsReport["counterfactual_basis"]) =>
    r.counterfactual_basis === basis ? " ← used" : "";
  if (r.modelled_counterfactual_usd !== null) {
    rows.push([
      `Planner does it itself, modelled${mark("modelled")}`,
      formatUsd(r.modelled_counterfactual_usd),
    ]);
  }
  if (r.baseline_estimate) {
    const b = r.baseline_estimate;
    rows.push([
      `Planner's own baseline_estimate (${formatTokens(b.input_tokens)} in / ${formatTokens(b.output_tokens)} out)${mark("baseline_estimate")}`,
      formatUsd(b.cost_usd),
    ]);
  }
  rows.push([
    `Lower bound, planner context unknown: exploration + executor tokens at ${r.planner_model} rates${mark("lower_bound")}`,
    formatUsd(r.repriced_counterfactual_usd),
  ]);
  return rows;
}

/** The first `leftColumns` columns are text (left-aligned), the others figures (right-aligned). */
function markdownTable(headers: string[], rows: string[][], leftColumns = 1): string {
  const cellText = (cell: string) => cell.replaceAll("|", "\\|").replaceAll("\n", " ");
  const align = headers.map((_, i) => (i < leftColumns ? "---" : "--:"));
  return [headers, align, ...rows].map((r) => `| ${r.map(cellText).join(" | ")} |`).join("\n");
}

function phaseTable(r: SavingsReport, phases: string[]): string {
  const rows = r.by_phase.filter((p) => phases.includes(p.phase)).map((p) => [p.phase, ...usageCells(p)]);
  if (rows.length === 0) return "_No records._";
  return markdownTable(["Phase", ...USAGE_HEADERS], rows);
}

export interface LogMarkdownOptions {
  /** ISO timestamp stamped into the header. */
  generatedAt?: string;
  /** The existing Learnings section (from its heading to the end), kept verbatim. */
  learnings?: string;
}

/**
 * LOG.md in the shape of the workflow's "Tracking Success" template: Token Usage (Planning,
 * Execution per task, Verification), Total, Comparison, then Learnings, which stays the user's.
 */
export function renderLogMarkdown(r: SavingsReport, opts: LogMarkdownOptions = {}): string {
  const out: string[] = [`# Tracking Success — ${r.project}`, ""];
  const stamp = [
    opts.generatedAt ? `Generated ${opts.generatedAt}` : "",
    r.prices ? `prices: ${r.prices}` : "",
  ];
  if (stamp.some(Boolean)) out.push(`_${stamp.filter(Boolean).join(" · ")}_`, "");

  out.push("## Token Usage", "", "### Planning", "", phaseTable(r, PLANNING_PHASES), "");

  out.push("### Execution", "");
  if (r.tasks.length === 0) out.push("_No tasks._");
  else {
    out.push(
      markdownTable(
        [
          "Task",
          "Status",
          "Attempts",
          "Escalations",
          ...USAGE_HEADERS,
          "Estimate (in / out, cost)",
          "Error (in / out / cost)",
        ],
        r.tasks.map((t) => [
          t.id,
          t.status,
          String(t.attempts),
          String(t.escalations),
          ...usageCells(t.actual),
          estimateCell(t),
          errorCell(t),
        ]),
        2,
      ),
    );
  }
  out.push("", phaseTable(r, EXECUTION_PHASES), "");

  out.push("### Verification", "", phaseTable(r, ["verification"]), "");

  out.push("### Total", "", markdownTable(["", ...USAGE_HEADERS], [["Actual", ...usageCells(r.totals)]]), "");
  if (r.by_model.length > 0) {
    out.push(
      markdownTable(
        ["Model", ...USAGE_HEADERS],
        r.by_model.map((m) => [m.model, ...modelCells(m)]),
      ),
      "",
    );
  }
  const subscription = subscriptionLine(r.totals);
  if (subscription) out.push(subscription, "");

  out.push("## Comparison", "", `Planner figures: ${r.planner_source}.`, "");
  const comparison: string[][] = [
    ["Actual (this workflow)", formatUsd(r.actual_cost_usd)],
    ...counterfactualRows(r),
    ["**Savings**", `**${formatUsd(r.savings_usd)} (${formatPct(r.savings_pct)})**`],
  ];
  out.push(markdownTable(["", "Cost"], comparison), "");
  out.push(`**${r.verdict}**`, "");
  if (r.terms.length > 0) {
    out.push(
      markdownTable(
        ["Term", "Side", "How it was found", "Cost"],
        r.terms.map((t) => [t.term, SIDE_LABEL[t.side], t.detail ?? "", formatUsd(t.usd)]),
        3,
      ),
      "",
    );
  }
  out.push(
    `Counterfactual used: **${r.counterfactual_basis}** — ${BASIS_LABEL[r.counterfactual_basis]}.`,
    "",
  );

  if (r.warnings.length > 0) {
    out.push("## Warnings", "", ...r.warnings.map((w) => `- ${w}`), "");
  }

  out.push(opts.learnings?.trimEnd() ? `${opts.learnings.trimEnd()}\n` : LEARNINGS_PLACEHOLDER);
  return out.join("\n");
}

/** The Learnings section of an existing LOG.md (heading to end of file), or undefined. */
export function extractLearnings(markdown: string): string | undefined {
  const at = markdown.search(/^## Learnings[ \t]*$/m);
  return at === -1 ? undefined : markdown.slice(at);
}

/** A plain-text table: the first `leftColumns` columns left-aligned, the others (figures) right-aligned. */
export function textTable(headers: string[], rows: string[][], leftColumns = 1): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The savings report for the terminal (`delegate-mcp report`). */
export function renderReportTable(r: SavingsReport): string {
  const out: string[] = [`${r.project} — savings report`, ""];
  const phaseRows = r.by_phase.map((p) => [p.phase, ...usageCells(p)]);
  phaseRows.push(["total", ...usageCells(r.totals)]);
  out.push(textTable(["Phase", ...USAGE_HEADERS], phaseRows), "");
  if (r.by_model.length > 0) {
    out.push(
      textTable(
        ["Model", ...USAGE_HEADERS],
        r.by_model.map((m) => [m.model, ...modelCells(m)]),
      ),
      "",
    );
  }
  const subscription = subscriptionLine(r.totals);
  if (subscription) out.push(subscription, "");
  if (r.tasks.length > 0) {
    out.push(
      textTable(
        ["Task", "Status", "Attempts", "Esc.", "Tokens in/out", "Cost", "Estimate", "Error in/out/cost"],
        r.tasks.map((t) => [
          t.id,
          t.status,
          String(t.attempts),
          String(t.escalations),
          `${formatTokens(t.actual.input_tokens)} / ${formatTokens(t.actual.output_tokens)}`,
          costCell(t.actual),
          estimateCell(t),
          errorCell(t),
        ]),
        2,
      ),
      "",
    );
  }
  const summary: string[][] = [["Actual", formatUsd(r.actual_cost_usd)], ...counterfactualRows(r)];
  summary.push(["Savings", `${formatUsd(r.savings_usd)} (${formatPct(r.savings_pct)})`]);
  const labelWidth = Math.max(...summary.map(([label]) => label!.length));
  out.push(...summary.map(([label, value]) => `${label!.padEnd(labelWidth)}  ${value}`));
  out.push(r.verdict, `Planner figures: ${r.planner_source}.`);
  if (r.terms.length > 0) {
    out.push(
      "",
      textTable(
        ["Term", "Side", "How it was found", "Cost"],
        r.terms.map((t) => [t.term, SIDE_LABEL[t.side], t.detail ?? "", formatUsd(t.usd)]),
        3,
      ),
    );
  }
  if (r.prices) out.push("", `Prices: ${r.prices}`);
  for (const w of r.warnings) out.push(`Warning: ${w}`);
  return `${out.join("\n")}\n`;
}

/** One row of `delegate-mcp tasks`. */
export interface TaskSummary {
  id: string;
  status: string;
  model?: string;
  attempts: number;
  cost_usd: number | null;
}

/** The task list for the terminal (`delegate-mcp tasks`). */
export function renderTaskTable(tasks: readonly TaskSummary[]): string {
  if (tasks.length === 0) return "No tasks.\n";
  const rows = tasks.map((t) => [t.id, t.status, t.model ?? "—", String(t.attempts), formatUsd(t.cost_usd)]);
  return `${textTable(["Task", "Status", "Model", "Attempts", "Cost"], rows, 3)}\n`;
}
