/**
 * DESIGN: no tool result may exceed 20,000 tokens (Claude Code rejects MCP results over 25,000).
 * Text that tokenizes worst (CJK, base64) runs about one token per 3 bytes of JSON, so results are
 * held to this many bytes.
 */
export const RESULT_BUDGET_BYTES = 45_000;

/** Strings shorter than this are never cut. */
const FLOOR = 160;
const CUT = "[…cut to fit]";

interface Cuttable {
  owner: Record<string, unknown> | unknown[];
  key: string | number;
  /** Keep the end (command output: the error is at the bottom) or the start (everything else). */
  keep: "tail" | "head";
}

/** Free text that carries most of a result's bulk: cut these first. */
const FREE_TEXT = new Set(["output", "report", "diff"]);

function collectStrings(value: unknown, out: { free: Cuttable[]; other: Cuttable[] }): void {
  if (!value || typeof value !== "object") return;
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value as Record<string, unknown>);
  for (const [key, v] of entries) {
    if (typeof v === "string") {
      const owner = value as Cuttable["owner"];
      if (typeof key === "string" && FREE_TEXT.has(key)) {
        out.free.push({ owner, key, keep: key === "output" ? "tail" : "head" });
      } else {
        out.other.push({ owner, key, keep: "head" });
      }
    } else {
      collectStrings(v, out);
    }
  }
}

function get(f: Cuttable): string {
  return (f.owner as Record<string | number, unknown>)[f.key] as string;
}

function set(f: Cuttable, text: string): void {
  (f.owner as Record<string | number, unknown>)[f.key] = text;
}

/** Shrinks `fields` in proportion (never below FLOOR) until `size()` fits `budget` or nothing is left to cut. */
function shrink(fields: Cuttable[], size: () => number, budget: number): void {
  for (let round = 0; round < 8; round++) {
    const total = size();
    if (total <= budget) return;
    const long = fields.filter((f) => get(f).length > FLOOR);
    if (long.length === 0) return;
    const cuttable = long.reduce((n, f) => n + Buffer.byteLength(JSON.stringify(get(f))), 0);
    const room = cuttable - (total - budget);
    const scale = Math.max(0, room / cuttable) * 0.9;
    for (const f of long) {
      const text = get(f);
      const keep = Math.max(FLOOR, Math.floor(text.length * scale));
      if (keep >= text.length) continue;
      set(f, f.keep === "tail" ? `${CUT}${text.slice(-keep)}` : `${text.slice(0, keep)}${CUT}`);
    }
  }
}

function stringArrays(value: unknown, out: string[][]): void {
  if (Array.isArray(value)) {
    if (value.length > 1 && value.every((v) => typeof v === "string")) out.push(value as string[]);
    else for (const v of value) stringArrays(v, out);
    return;
  }
  if (value && typeof value === "object") for (const v of Object.values(value)) stringArrays(v, out);
}

/**
 * Fit a result's JSON into `budget` bytes: first its long free text (outputs keep their tail, the
 * error is at the bottom; reports and diffs their head), then any other long string, then lists
 * of strings (warnings, paths) lose their last entries to one "[…N more cut to fit]" entry. Each
 * cut says so. Returns the same object, mutated.
 */
export function fitToBudget<T>(result: T, budget = RESULT_BUDGET_BYTES): T {
  const size = () => Buffer.byteLength(JSON.stringify(result));
  if (size() <= budget) return result;
  const strings = { free: [] as Cuttable[], other: [] as Cuttable[] };
  collectStrings(result, strings);
  shrink(strings.free, size, budget);
  shrink(strings.other, size, budget);
  const lists: string[][] = [];
  stringArrays(result, lists);
  for (const list of lists.sort((a, b) => b.length - a.length)) {
    if (size() <= budget) break;
    const all = [...list];
    const keepFirst = (k: number) => {
      list.splice(0, list.length, ...all.slice(0, k), `[…${all.length - k} more cut to fit]`);
      return size() <= budget;
    };
    // The most entries that still fit, found by bisection (each try serializes the whole result).
    let lo = 0;
    let hi = all.length - 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi + 1) / 2);
      if (keepFirst(mid)) lo = mid;
      else hi = mid - 1;
    }
    keepFirst(lo);
  }
  return result;
}

/** A text answer held to `budget` bytes, its head kept. */
export function fitText(text: string, budget = RESULT_BUDGET_BYTES): string {
  if (Buffer.byteLength(text) <= budget) return text;
  let keep = text.slice(0, budget);
  while (Buffer.byteLength(keep) + CUT.length * 3 > budget)
    keep = keep.slice(0, Math.floor(keep.length * 0.9));
  return `${keep}${CUT}`;
}
