/**
 * The savings report as a picture: bars in the terminal and a plain SVG file for LOG.md. Drawn
 * from the report's own fields only (never recomputed), deterministic (same report, same bytes).
 */
import { formatUsd } from "./report-render.js";
import type { SavingsReport } from "./savings-report.js";

export const CHART_FILE = "savings.svg";

interface Bar {
  label: string;
  usd: number | null;
}

/** The bars both renderings draw: actual vs counterfactual, then actual cost by phase. */
export function chartBars(r: SavingsReport): { comparison: Bar[]; phases: Bar[]; cumulative: Bar[] } {
  let sum = 0;
  let known = true;
  const cumulative = r.tasks.map((t) => {
    if (t.actual.cost_usd === null) known = false;
    else sum += t.actual.cost_usd;
    return { label: t.id, usd: known ? Math.round(sum * 1e9) / 1e9 : null };
  });
  return {
    comparison: [
      { label: "Actual", usd: r.actual_cost_usd },
      { label: "Counterfactual", usd: r.counterfactual_cost_usd },
    ],
    phases: r.by_phase.map((p) => ({ label: p.phase, usd: p.cost_usd })),
    cumulative,
  };
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

/** The cumulative cost of the project's tasks, in task order, as a line. */
function svgLine(points: Bar[], top: number, height: number): string[] {
  const known = points.filter((p) => p.usd !== null);
  if (known.length === 0) return [`<text x="8" y="${top + 15}">no priced task yet</text>`];
  const max = scaleOf(known) || 1;
  const step = points.length > 1 ? (W - LABEL_W - 80) / (points.length - 1) : 0;
  const xy = known.map((p, i) => {
    const x = Math.round((LABEL_W + i * step) * 10) / 10;
    const y = Math.round((top + height - ((p.usd ?? 0) / max) * height) * 10) / 10;
    return { x, y, p };
  });
  return [
    `<polyline fill="none" stroke="#2f6fb0" stroke-width="2" points="${xy.map((q) => `${q.x},${q.y}`).join(" ")}"/>`,
    ...xy.map(
      (q) =>
        `<circle data-group="cumulative" data-label="${escapeXml(q.p.label)}" data-usd="${q.p.usd}" cx="${q.x}" cy="${q.y}" r="3" fill="#2f6fb0"/>`,
    ),
    `<text x="8" y="${top + 15}">after ${escapeXml(known[known.length - 1]!.label)}</text>`,
    `<text x="8" y="${top + 33}">${escapeXml(formatUsd(known[known.length - 1]!.usd))}</text>`,
  ];
}

/** The LOG.md picture as SVG text: no script, no external reference, fixed layout. */
export function renderSvg(r: SavingsReport): string {
  const { comparison, phases, cumulative } = chartBars(r);
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
  heading("Cumulative executor-side task cost, in task order");
  parts.push(...svgLine(cumulative, y, 80));
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
  const section = `## Picture\n\n![Actual vs counterfactual cost, cost by phase, cumulative task cost](${file})\n\n`;
  const at = markdown.search(/^## Learnings[ \t]*$/m);
  if (at < 0) return `${markdown.trimEnd()}\n\n${section.trimEnd()}\n`;
  return `${markdown.slice(0, at)}${section}${markdown.slice(at)}`;
}
