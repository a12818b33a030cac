/** The two renderings of a benchmark run: the terminal table and bench/RESULTS.md. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { arch, cpus, loadavg, release, totalmem, type } from "node:os";
import type { BenchRow } from "./types.js";

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

/** 1-minute load average, so a reader can tell a busy machine from a slow server. */
export function load(): number {
  return Number(loadavg()[0]!.toFixed(2));
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  return n.toLocaleString("en-US", { maximumFractionDigits: 5 });
}

function cells(row: BenchRow): string[] {
  return [
    row.group,
    row.name,
    `${formatNumber(row.value)} ${row.unit}`,
    row.reference === undefined ? "" : formatNumber(row.reference),
    row.ratio === undefined ? "" : `${row.ratio}×`,
    row.goal ?? "",
    row.met === undefined ? "" : row.met ? "yes" : "NO",
  ];
}

/** A plain-text table for the terminal, one line per row. */
export function renderTable(rows: BenchRow[]): string {
  const header = ["group", "figure", "value", "reference", "ratio", "goal", "met"];
  const body = rows.map(cells);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 2 || i === 3 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

export function goalSummary(rows: BenchRow[]): { met: number; total: number; missed: BenchRow[] } {
  const withGoal = rows.filter((r) => r.met !== undefined);
  const missed = withGoal.filter((r) => r.met === false);
  return { met: withGoal.length - missed.length, total: withGoal.length, missed };
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
  const summary = goalSummary(rows);
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
    `**Goals met: ${summary.met} of ${summary.total}.**`,
  ];
  if (summary.missed.length) {
    out.push("", "Not met:");
    for (const r of summary.missed)
      out.push(
        `- ${r.group}: ${r.name} — ${formatNumber(r.value)} ${r.unit}${r.ratio === undefined ? "" : ` (${r.ratio}× of ${formatNumber(r.reference ?? Number.NaN)})`}, goal ${r.goal}`,
      );
  }
  const groups = [...new Set(rows.map((r) => r.group))];
  for (const group of groups) {
    out.push(
      "",
      `## ${group}`,
      "",
      "| figure | value | reference | ratio | goal | met | note |",
      "|---|--:|--:|--:|---|---|---|",
    );
    for (const r of rows.filter((x) => x.group === group)) {
      const [, name, value, reference, ratio, goal, met] = cells(r).map(mdCell);
      out.push(
        `| ${name} | ${value} | ${reference} | ${ratio} | ${goal} | ${met} | ${mdCell(r.note ?? "")} |`,
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
