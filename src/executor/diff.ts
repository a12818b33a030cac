/**
 * Diffs between commits and trees: the bounded unified diff a review shows, the list of paths two
 * trees differ in, and patch files `git apply` can replay exactly.
 */
import { UserError } from "../core/errors.js";
import { DIFF_HARDENING, git, splitNul } from "./git.js";
import { gitRoot, mustResolve } from "./repo.js";

export interface DiffResult {
  /** The unified diff, cut at a line end when longer than maxBytes. */
  diff: string;
  /** `git diff --stat` of the whole change (never cut). */
  stat: string;
  truncated: boolean;
  /** Size of the whole diff in bytes. */
  bytes: number;
}

/** About 15,000 tokens of diff. */
export const DEFAULT_DIFF_MAX_BYTES = 60_000;

/**
 * `git diff base head` (renames detected, no external diff or textconv), cut at a line end after
 * `maxBytes` (default 60,000 ≈ 15k tokens), with the stat of the whole change. Only committed
 * changes show: commitAll first.
 */
export async function diff(
  repoOrWt: string,
  base: string,
  head: string,
  opts: { maxBytes?: number } = {},
): Promise<DiffResult> {
  const maxBytes = opts.maxBytes ?? DEFAULT_DIFF_MAX_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new UserError(`maxBytes must be a positive integer, got ${maxBytes}.`, "maxBytes");
  }
  await gitRoot(repoOrWt);
  const from = await mustResolve(repoOrWt, base, "base");
  const to = await mustResolve(repoOrWt, head, "head");
  const full = await git(repoOrWt, ["diff", "-M", ...DIFF_HARDENING, from, to, "--"], {
    maxStdoutBytes: maxBytes,
  });
  const stat = await git(repoOrWt, ["diff", "-M", "--stat=100", ...DIFF_HARDENING, from, to, "--"]);
  const truncated = full.stdoutBytes > maxBytes;
  return {
    diff: truncated ? cutAtLineEnd(full.raw) : full.stdout,
    stat: stat.stdout,
    truncated,
    bytes: full.stdoutBytes,
  };
}

/** Paths that differ between two trees, renames split into delete + add. */
export async function namesBetween(root: string, from: string, to: string): Promise<string[]> {
  const out = await git(root, [
    "diff",
    "--name-only",
    "--no-renames",
    "-z",
    ...DIFF_HARDENING,
    from,
    to,
    "--",
  ]);
  return splitNul(out.stdout);
}

/** A patch `git apply` can replay exactly: binary-safe, full blob ids (for --3way), bytes untouched. */
export async function writePatch(root: string, from: string, to: string, file: string, paths: string[] = []) {
  await git(root, [
    "diff",
    "--binary",
    "--full-index",
    "--no-renames",
    ...DIFF_HARDENING,
    `--output=${file}`,
    from,
    to,
    "--",
    ...paths,
  ]);
}

/** The kept bytes cut at the last line end (or, without one, before a character cut in half). */
function cutAtLineEnd(raw: Buffer): string {
  const nl = raw.lastIndexOf(0x0a);
  if (nl >= 0) return raw.subarray(0, nl + 1).toString("utf8");
  return raw.toString("utf8").replace(/\uFFFD+$/, "");
}
