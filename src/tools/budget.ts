/**
 * DESIGN: no tool result may exceed 20,000 tokens (Claude Code rejects MCP results over 25,000).
 * Text that tokenizes worst (CJK, base64) runs about one token per 3 bytes of JSON, so results are
 * held to this many bytes.
 */
export const RESULT_BUDGET_BYTES = 45_000;

/** Strings shorter than this are never cut. */
const FLOOR = 160;

interface Cuttable {
  owner: Record<string, unknown>;
  key: string;
  /** Keep the end (command output: the error is at the bottom) or the start (reports). */
  keep: "tail" | "head";
}

function collect(value: unknown, out: Cuttable[]): void {
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out);
    return;
  }
  if (!value || typeof value !== "object") return;
  const obj = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(obj)) {
    if (typeof v === "string" && (key === "output" || key === "report" || key === "diff")) {
      out.push({ owner: obj, key, keep: key === "output" ? "tail" : "head" });
    } else {
      collect(v, out);
    }
  }
}

/**
 * Shrink the long free-text fields of a result (outputs, reports, diffs) in proportion until its
 * JSON fits `budget` bytes; outputs keep their tail (the error is at the bottom), reports their
 * head. Each cut says so. Returns the same object, mutated.
 */
export function fitToBudget<T>(result: T, budget = RESULT_BUDGET_BYTES): T {
  const size = () => Buffer.byteLength(JSON.stringify(result));
  const fields: Cuttable[] = [];
  collect(result, fields);
  for (let round = 0; round < 8; round++) {
    const total = size();
    if (total <= budget) break;
    const long = fields.filter((f) => (f.owner[f.key] as string).length > FLOOR);
    if (long.length === 0) break;
    const cuttable = long.reduce((n, f) => n + Buffer.byteLength(JSON.stringify(f.owner[f.key])), 0);
    const room = cuttable - (total - budget);
    const scale = Math.max(0, room / cuttable) * 0.9;
    for (const f of long) {
      const text = f.owner[f.key] as string;
      const keep = Math.max(FLOOR, Math.floor(text.length * scale));
      if (keep >= text.length) continue;
      f.owner[f.key] =
        f.keep === "tail" ? `[…cut to fit]${text.slice(-keep)}` : `${text.slice(0, keep)}[…cut to fit]`;
    }
  }
  return result;
}
