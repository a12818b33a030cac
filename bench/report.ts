/** The two renderings of a benchmark run: the terminal table and bench/RESULTS.md. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { arch, cpus, release, totalmem, type } from "node:os";
import { evaluateGoals, type GoalResult, goalSummary, goalText } from "./goals.js";
import type { BenchRow, Runs } from "./types.js";

export { loadNow as load } from "./reference.js";

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
}

function distribution(): string | undefined {
  try {
    return /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

export function machine(): Machine {
  const distro = distribution();
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown CPU",
    cores: cpus().length,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    os: `${type()} ${release()} ${arch()}${distro ? ` (${distro})` : ""}`,
    node: process.version,
  };
}

/** The commit measured, and whether the server's sources differed from it (a shared working tree). */
export function revision(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const head = git("rev-parse", "--short", "HEAD");
    const dirty = git("status", "--porcelain", "--", "src", "templates", "package.json") !== "";
    return dirty ? `${head} with uncommitted changes in src/ or templates/` : head;
  } catch {
    return "unknown (not a git checkout)";
  }
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  return n.toLocaleString("en-US", { maximumFractionDigits: 5 });
}

function runsCell(runs: Runs | undefined): string {
  return runs
    ? `${formatNumber(runs.min)} / ${formatNumber(runs.median)} / ${formatNumber(runs.max)} (${runs.n})`
    : "";
}

/** The verdict of each row that measures a goal, by row. */
function verdicts(results: readonly GoalResult[]): Map<BenchRow, GoalResult> {
  const out = new Map<BenchRow, GoalResult>();
  for (const r of results) if (r.row) out.set(r.row, r);
  return out;
}

function cells(row: BenchRow, result: GoalResult | undefined): string[] {
  return [
    row.group,
    row.name,
    `${formatNumber(row.value)} ${row.unit}`,
    runsCell(row.runs),
    row.reference === undefined ? "" : formatNumber(row.reference),
    row.ratio === undefined ? "" : `${row.ratio}×`,
    result ? goalText(result.goal) : "",
    result ? result.verdict : "",
  ];
}

/** Goals no row measured, as table lines of their group. */
function unmeasuredCells(result: GoalResult): string[] {
  return [result.goal.group, result.goal.figure, "—", "", "", "", goalText(result.goal), result.verdict];
}

/** A plain-text table for the terminal, one line per row, then the goals nothing measured. */
export function renderTable(rows: BenchRow[]): string {
  const results = evaluateGoals(rows);
  const byRow = verdicts(results);
  const header = [
    "group",
    "figure",
    "value",
    "min / median / max (n)",
    "reference",
    "ratio",
    "goal",
    "verdict",
  ];
  const body = [
    ...rows.map((r) => cells(r, byRow.get(r))),
    ...results.filter((r) => !r.row).map(unmeasuredCells),
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i >= 2 && i <= 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** "N of M met", then one line per goal not met, unmet first as the table orders them. */
export function renderHeadline(rows: BenchRow[]): string[] {
  const summary = goalSummary(evaluateGoals(rows));
  const out = [`Goals met: ${summary.met} of ${summary.total}.`];
  for (const r of summary.unmet) out.push(`- ${r.verdict}: ${r.goal.group}: ${unmetDetail(r)}`);
  return out;
}

function unmetDetail(r: GoalResult): string {
  const goal = goalText(r.goal);
  if (!r.row) return `${r.goal.figure} (goal ${goal})${r.goal.pending ? `; ${r.goal.pending}` : ""}`;
  const row = r.row;
  const ratio =
    row.ratio === undefined ? "" : ` (${row.ratio}× of ${formatNumber(row.reference ?? Number.NaN)})`;
  const broken = row.referenceBroken ? `; ${row.referenceBroken}` : "";
  return `${row.name} — ${formatNumber(row.value)} ${row.unit}${ratio}, goal ${goal}${broken}`;
}

const mdCell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

export interface ResultsInput {
  rows: BenchRow[];
  date: Date;
  machine: Machine;
  revision: string;
  loadAtStart: number;
  loadAtEnd: number;
  durationMs: number;
  /** The hand-written "## Findings" section of the previous RESULTS.md, kept across runs. */
  findings?: string | undefined;
}

/** One line per table: what its figures are and how to judge them. */
const READING: Record<string, string> = {
  server:
    "each ratio is ours against @modelcontextprotocol/server-filesystem started and called the same way in the same run (spawn with three pipes, then initialize and one real tool call); timed rows give min / median / max over their runs.",
  dispatch:
    "context rows compare the executor's first request with the least it could be sent; parallel rows compare wall time with the ideal schedule (rounds × the per-task LLM latency), so 1.0× means the server added nothing.",
  cost: "a fixed workload through the fake LLM with real o200k counts; the savings goal is DESIGN's promise for repetitive work, measured here, not assumed.",
  validation:
    "the runner against a plain spawn started exactly as the runner starts its child (same shell, stdin ignored); a reference outside its plausible range marks the row broken.",
  ledger:
    "report times run over a ledger of the stated size through the real code (and the real CLI); byte rows are the JSON the client receives, against the 45,000-byte result budget.",
  "savings model":
    "core/counterfactual over a stated workload (no run): savings against the planner doing it itself, at 32k, 60k and 120k planner context; the transcript rows import a generated 200 MB Claude Code transcript for real.",
  cli: "the claude-code and codex executors (the real pinned CLIs, against the fake LLM) against the API executor on the same task: tokens of the first request as the model receives it (bytes / 4), requests, wall time; each note attributes the extra tokens.",
  "a/b in Claude Code":
    "the real Claude Code doing the same work itself and through this server; turn scripts are the assumption, every token is measured (planner: Claude Code's transcript; executor: the ledger) and priced with one catalog; value = delegate $, reference = self $, so the ratio is what delegating costs per dollar of doing it yourself. Snippet break-even rows: the share of a change the planner can put in the spec's snippet before delegating costs what doing it costs (bench/ab/snippet.ts), next to lint's warning threshold.",
};

const FINDINGS = "## Findings";
const REPRODUCE = "## Reproduce";

/** The "## Findings" section (heading included) of a RESULTS.md, if it has one. */
export function findingsOf(markdown: string): string | undefined {
  const start = markdown.indexOf(`\n${FINDINGS}\n`);
  if (start < 0) return undefined;
  const end = markdown.indexOf(`\n${REPRODUCE}\n`, start + 1);
  return markdown.slice(start + 1, end < 0 ? undefined : end).trimEnd();
}

/** bench/RESULTS.md: when and where, the goals in one line, then one table per group. */
export function renderResults(input: ResultsInput): string {
  const { rows, machine: m } = input;
  const out: string[] = [
    "# Benchmark results",
    "",
    "Written by `npm run bench` (bench/run.ts); rerun it to refresh the figures. Only the Findings section is hand-written (kept across runs).",
    "Every ratio is against a reference measured in the same run. Benchmarks never gate CI.",
    "",
    "| | |",
    "|---|---|",
    `| date | ${input.date.toISOString()} |`,
    `| machine | ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM |`,
    `| OS | ${m.os} |`,
    `| Node | ${m.node} |`,
    `| commit | ${input.revision} |`,
    `| load average (1 min) at start / end | ${input.loadAtStart} / ${input.loadAtEnd} |`,
    `| duration | ${(input.durationMs / 1000).toFixed(0)} s |`,
    "",
  ];
  const [headline, ...unmet] = renderHeadline(rows);
  out.push(`**${headline}**`);
  if (unmet.length) out.push("", "Not met (a goal nothing measured counts as not met):", ...unmet);
  const results = evaluateGoals(rows);
  const byRow = verdicts(results);
  const groups = [...new Set([...rows.map((r) => r.group), ...results.map((r) => r.goal.group)])];
  for (const group of groups) {
    out.push("", `## ${group}`, "");
    if (READING[group]) out.push(`How to read this: ${READING[group]}`, "");
    out.push(
      "| figure | value | min / median / max (n) | reference | ratio | goal | verdict | load | note |",
      "|---|--:|--:|--:|--:|---|---|--:|---|",
    );
    for (const r of rows.filter((x) => x.group === group)) {
      const [, name, value, runs, reference, ratio, goal, verdict] = cells(r, byRow.get(r)).map(mdCell);
      const note = [r.referenceBroken ? `reference broken: ${r.referenceBroken}` : "", r.note ?? ""]
        .filter(Boolean)
        .join("; ");
      out.push(
        `| ${name} | ${value} | ${runs} | ${reference} | ${ratio} | ${goal} | ${verdict} | ${r.load ?? ""} | ${mdCell(note)} |`,
      );
    }
    for (const r of results.filter((x) => !x.row && x.goal.group === group)) {
      const [, name, value, runs, reference, ratio, goal, verdict] = unmeasuredCells(r).map(mdCell);
      out.push(
        `| ${name} | ${value} | ${runs} | ${reference} | ${ratio} | ${goal} | ${verdict} | | ${mdCell(r.goal.pending ?? "no row measured it in this run")} |`,
      );
    }
  }
  if (input.findings) out.push("", input.findings);
  out.push(
    "",
    REPRODUCE,
    "",
    "```sh",
    "npm run bench                             # build, run everything, print the table, rewrite this file",
    "npx tsx bench/run.ts --quick --no-write   # the smoke run: tiny sizes, nothing written",
    "```",
    "",
  );
  return out.join("\n");
}
