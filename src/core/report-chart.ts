/**
 * The savings report as a picture: bars in the terminal and a plain SVG file for LOG.md. The bars
 * are the report's own fields (never recomputed); the cumulative savings line is the report's own
 * computation run over the ledger as it stood after each task. Deterministic: same ledger, same bytes.
 */
import { formatUsd } from "./report-render.js";
import type { SavingsInput } from "./savings.js";
import type { SavingsReport } from "./savings-report.js";
import { savingsUsd } from "./savings-usd.js";

export const CHART_FILE = "savings.svg";

interface Bar {
  label: string;
  usd: number | null;
}

/** A point of the cumulative line: the project's savings_usd once task `label` had finished. */
export type SavingsPoint = Bar;

/** At most this many points on the cumulative line, however many tasks: the SVG stays small. */
export const MAX_SAVINGS_POINTS = 24;

/** The bars both renderings draw: actual vs counterfactual, then actual cost by phase. */
export function chartBars(r: SavingsReport): { comparison: Bar[]; phases: Bar[] } {
  return {
    comparison: [
      { label: "Actual", usd: r.actual_cost_usd },
      { label: "Counterfactual", usd: r.counterfactual_cost_usd },
    ],
    phases: r.by_phase.map((p) => ({ label: p.phase, usd: p.cost_usd })),
  };
}

/** `max` of the indexes 0..n-1, evenly spread, the first and the last always among them. */
function sampled(n: number, max: number): number[] {
  if (n <= max) return [...Array(n).keys()];
  const m = Math.max(2, max);
  return [...Array(m).keys()].map((k) => Math.round((k * (n - 1)) / (m - 1)));
}

/**
 * The project's savings over time, one point per task in the order tasks finished (the time of a
 * task's last ledger record, ledger order breaking ties): the savings_usd that the report's own
 * computation (savingsUsd, computeSavings' figure alone) gives over the project's records up to and
 * including that record (and the session turns up to its time). The last point is `report`'s
 * savings_usd, over every record, those logged after the last task too. At most `max` points,
 * evenly sampled, the last always kept; null where the savings are unknown (a price is missing).
 * `input` and `report` are the report's own input and result. Pure.
 */
export function savingsOverTime(
  input: SavingsInput,
  report: SavingsReport,
  max = MAX_SAVINGS_POINTS,
): SavingsPoint[] {
  const order = input.entries
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => e.project === input.project)
    .sort((a, b) => (a.e.ts < b.e.ts ? -1 : a.e.ts > b.e.ts ? 1 : a.i - b.i));
  /** Ledger index → position in time order (other projects' records: never in a prefix). */
  const position = new Array<number>(input.entries.length).fill(Number.POSITIVE_INFINITY);
  order.forEach(({ i }, pos) => {
    position[i] = pos;
  });
  /** Task → position of its last record. */
  const finished = new Map<string, number>();
  order.forEach(({ e }, pos) => {
    if (e.task !== undefined) finished.set(e.task, pos);
  });
  const tasks = [...finished].sort((a, b) => a[1] - b[1]);
  return sampled(tasks.length, max).map((k) => {
    const [label, last] = tasks[k]!;
    if (k === tasks.length - 1) return { label, usd: report.savings_usd };
    const ts = order[last]!.e.ts;
    const usd = savingsUsd({
      ...input,
      // The ledger's own order is kept: the prefix is the ledger cut after the task's last record.
      entries: input.entries.filter((_, i) => position[i]! <= last),
      sessionTurns: input.sessionTurns?.filter((t) => t.ts <= ts),
    });
    return { label, usd };
  });
}

const BAR_CHARS = 32;

function scaleOf(bars: Bar[]): number {
  return Math.max(0, ...bars.map((b) => b.usd ?? 0));
}

function textBars(bars: Bar[], max: number, width: number): string[] {
  return bars.map((b) => {
    const n = b.usd === null || max <= 0 ? 0 : Math.round((Math.max(0, b.usd) / max) * BAR_CHARS);
    return `  ${b.label.padEnd(width)}  ${"█".repeat(n)}${"·".repeat(BAR_CHARS - n)}  ${formatUsd(b.usd)}`;
  });
}

/** The terminal picture: actual vs counterfactual on one scale, the phases on another. */
export function renderBars(r: SavingsReport): string {
  const { comparison, phases } = chartBars(r);
  const width = Math.max(...[...comparison, ...phases].map((b) => b.label.length));
  const saved =
    r.savings_usd === null
      ? ""
      : ` — ${r.savings_usd >= 0 ? "saved" : "cost more by"} ${formatUsd(Math.abs(r.savings_usd))}`;
  return [
    `Cost: actual vs the planner alone (${r.counterfactual_basis})${saved}`,
    ...textBars(comparison, scaleOf(comparison), width),
    "Actual cost by phase",
    ...textBars(phases, scaleOf(phases), width),
  ].join("\n");
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const W = 640;
const LABEL_W = 170;
const BAR_W = 340;
const ROW = 22;

function svgBars(bars: Bar[], top: number, group: string, color: string): string[] {
  const max = scaleOf(bars);
  return bars.map((b, i) => {
    const y = top + i * ROW;
    const w = b.usd === null || max <= 0 ? 0 : Math.round((Math.max(0, b.usd) / max) * BAR_W * 10) / 10;
    return (
      `<g data-group="${group}" data-label="${escapeXml(b.label)}" data-usd="${b.usd ?? "null"}">` +
      `<text x="8" y="${y + 15}">${escapeXml(b.label)}</text>` +
      `<rect x="${LABEL_W}" y="${y + 3}" width="${w}" height="16" fill="${color}"/>` +
      `<text x="${LABEL_W + w + 6}" y="${y + 15}">${escapeXml(formatUsd(b.usd))}</text></g>`
    );
  });
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * The cumulative savings as a line over a zero axis (below it, delegation had cost more). An
 * unknown point breaks the line and is drawn as "?" at the top: no number is made up for it.
 */
function svgLine(points: readonly SavingsPoint[], top: number, height: number): string[] {
  if (points.length === 0) return [`<text x="8" y="${top + 15}">no task finished yet</text>`];
  const known = points.flatMap((p) => (p.usd === null ? [] : [p.usd]));
  const hi = Math.max(0, ...known);
  const lo = Math.min(0, ...known);
  const span = hi - lo || 1;
  const right = W - 80;
  const step = points.length > 1 ? (right - LABEL_W) / (points.length - 1) : 0;
  const yOf = (usd: number) => round1(top + ((hi - usd) / span) * height);
  const zero = yOf(0);
  const parts = [
    `<line data-axis="zero" x1="${LABEL_W}" y1="${zero}" x2="${right}" y2="${zero}" stroke="#999999" stroke-width="1"/>`,
    `<text x="${right + 6}" y="${zero + 4}">${escapeXml(formatUsd(0))}</text>`,
  ];
  for (const edge of [hi, lo]) {
    if (edge !== 0 && Math.abs(yOf(edge) - zero) >= 14)
      parts.push(`<text x="${right + 6}" y="${yOf(edge) + 4}">${escapeXml(formatUsd(edge))}</text>`);
  }
  const marks: string[] = [];
  let run: string[] = [];
  const endRun = () => {
    if (run.length > 1)
      parts.push(`<polyline fill="none" stroke="#2f6fb0" stroke-width="2" points="${run.join(" ")}"/>`);
    run = [];
  };
  points.forEach((p, i) => {
    const x = round1(LABEL_W + i * step);
    const attrs = `data-group="cumulative" data-label="${escapeXml(p.label)}" data-usd="${p.usd ?? "null"}"`;
    if (p.usd === null) {
      endRun();
      marks.push(`<text ${attrs} x="${x}" y="${top + 10}" text-anchor="middle" fill="#999999">?</text>`);
      return;
    }
    const y = yOf(p.usd);
    run.push(`${x},${y}`);
    const fill = p.usd < 0 ? "#b03a2f" : "#2f6fb0";
    marks.push(`<circle ${attrs} cx="${x}" cy="${y}" r="3" fill="${fill}"/>`);
  });
  endRun();
  const last = points[points.length - 1]!;
  const said =
    last.usd === null
      ? "unknown"
      : last.usd >= 0
        ? `saved ${formatUsd(last.usd)}`
        : `cost more by ${formatUsd(-last.usd)}`;
  return [
    ...parts,
    ...marks,
    `<text x="8" y="${top + 15}">after ${escapeXml(last.label)}</text>`,
    `<text x="8" y="${top + 33}">${escapeXml(said)}</text>`,
  ];
}

/**
 * The LOG.md picture as SVG text: no script, no external reference, fixed layout. `overTime` is
 * savingsOverTime of the same report.
 */
export function renderSvg(r: SavingsReport, overTime: readonly SavingsPoint[]): string {
  const { comparison, phases } = chartBars(r);
  const parts: string[] = [];
  let y = 10;
  const heading = (text: string) => {
    parts.push(`<text x="8" y="${y + 14}" font-weight="bold">${escapeXml(text)}</text>`);
    y += 24;
  };
  heading(`${r.project}: actual vs the planner alone (${r.counterfactual_basis})`);
  parts.push(...svgBars(comparison, y, "comparison", "#4a9a5b"));
  y += comparison.length * ROW + 12;
  heading("Actual cost by phase");
  parts.push(...svgBars(phases, y, "phase", "#c07a2c"));
  y += phases.length * ROW + 12;
  heading("Cumulative savings (counterfactual - actual) as tasks finished");
  parts.push(...svgLine(overTime, y, 80));
  y += 100;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${y}" fill="#ffffff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

/** LOG.md with the picture shown before the user's Learnings section (which must stay last). */
export function withPicture(markdown: string, file = CHART_FILE): string {
  const section = `## Picture\n\n![Actual vs counterfactual cost, cost by phase, cumulative savings](${file})\n\n`;
  const at = markdown.search(/^## Learnings[ \t]*$/m);
  if (at < 0) return `${markdown.trimEnd()}\n\n${section.trimEnd()}\n`;
  return `${markdown.slice(0, at)}${section}${markdown.slice(at)}`;
}
