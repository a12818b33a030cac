/**
 * The snippet sweep's work (bench/ab/snippet.ts): one new 40-line function added to an existing
 * file, with the spec's snippet carrying a given share of it. Here: the files, the change, and
 * the scripted executor's answer (the same whole change whatever the snippet held).
 */
export const SNIPPET_FILE = "src/report.ts";
export const SNIPPET_ANCHOR = "// end of report helpers\n";

const EXISTING = `${Array.from(
  { length: 6 },
  (_, i) =>
    `/** Formats row ${i}. */\nexport function row${i}(value: number): string {\n  return String(value * ${i + 1});\n}\n`,
).join("\n")}\n${SNIPPET_ANCHOR}`;

/** The function the task adds: 40 lines of ordinary code. */
export const SUMMARIZE = `/** Totals, mean, min and max of the rows, with a one-line label. */
export function summarize(rows: { name: string; value: number }[]): {
  count: number;
  total: number;
  mean: number;
  min: number;
  max: number;
  label: string;
} {
  let total = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const row of rows) {
    if (!Number.isFinite(row.value)) {
      throw new Error(\`row \${row.name} has a value that is not a finite number\`);
    }
    total += row.value;
    if (row.value < min) min = row.value;
    if (row.value > max) max = row.value;
  }
  const count = rows.length;
  if (count === 0) {
    return { count, total: 0, mean: 0, min: 0, max: 0, label: "no rows" };
  }
  const mean = total / count;
  const spread = max - min;
  const label =
    spread === 0
      ? \`\${count} rows, all \${min}\`
      : \`\${count} rows, mean \${mean.toFixed(2)}, from \${min} to \${max}\`;
  return {
    count,
    total,
    mean,
    min,
    max,
    label,
  };
}
`;

export const SNIPPET_FILES = { [SNIPPET_FILE]: EXISTING };
export const SNIPPET_PROMPT = "Add a summarize function to src/report.ts.";
/** The whole change as the executor (or the planner itself) writes it. */
export const SNIPPET_CHANGE = `${SUMMARIZE}\n${SNIPPET_ANCHOR}`;
export const CHECK_SNIPPET = `grep -q "export function summarize" ${SNIPPET_FILE} && grep -q "from \\\${min} to" ${SNIPPET_FILE}`;

/** The first `share` of the function's lines: what the planner put in the spec's snippet. */
export function snippetOf(share: number): string {
  const lines = SUMMARIZE.split("\n");
  return lines.slice(0, Math.round(lines.length * share)).join("\n");
}
