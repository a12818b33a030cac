import { shown } from "./errors.js";
import type { LintIssue, MiniTaskSpec } from "./mini-task.js";
import { parseLines } from "./mini-task.js";

/** What the store found on disk for one listed path (lint itself does no I/O). */
export interface FileFact {
  /** Why the path is refused (outside the workspace, protected...), if it is. */
  refused?: string;
  exists: boolean;
  isFile?: boolean;
  lineCount?: number;
}

export interface LintFacts {
  read: FileFact[];
  modify: FileFact[];
  /** Estimated executor prompt size of one turn, for the 2,000–5,000 sweet spot. */
  promptTokens: number;
  /** Ids of tasks that exist, for depends_on. */
  knownTaskIds: Set<string>;
  /**
   * Open tasks of the same project that modify one of this spec's files: the only ones a small
   * task could be merged with (the sweet-spot "below" advice is shown only when there is one).
   */
  mergeCandidates?: string[];
  /** Snippet tokens and the executor's estimated output tokens, for "the snippet is the change". */
  snippetTokens?: number;
  outputTokens?: number;
  /**
   * Executor output price over the planner's (e.g. Haiku 4.5 / Sonnet 4.5 = 5/15). Snippets the
   * planner writes cost it its own output rate; see SNIPPET_CHANGE_SHARE.
   */
  outputPriceRatio?: number | null;
}

export const CONTEXT_MAX_WORDS = 100;
export const SWEET_SPOT = { min: 2000, max: 5000 } as const;
export const WHOLE_FILE_MAX_LINES = 300;

/**
 * Snippets are "the change" when they make up at least this share of the executor's estimated
 * output: 1 − (executor output price / planner output price). Measured from the price catalog:
 * the planner pays its own output rate for every snippet token, the executor pays its rate for
 * every token it writes (snippets copied included), so above this share delegating cannot save
 * on output at all, before any turn overhead. Haiku 4.5 under Sonnet 4.5: 1 − 5/15 ≈ 0.67; under
 * Opus 4.5: 1 − 5/25 = 0.8. Without prices the Sonnet/Haiku figure is used. bench/ab/snippet.ts
 * measures the break-even in Claude Code itself (bench/RESULTS.md): where delegating saves the
 * planner a turn it lies later than this, where it saves none delegating a single small change
 * never pays; so this warns first.
 */
export function snippetChangeShare(outputPriceRatio: number | null | undefined): number {
  const ratio = outputPriceRatio ?? 5 / 15;
  return Math.min(1, Math.max(0, 1 - ratio));
}

const VAGUE = [
  "appropriately",
  "etc.",
  "etc",
  "as needed",
  "and so on",
  "similar",
  "as necessary",
  "if needed",
];

// Imperative verbs a step usually starts with. A step starting elsewhere is likely a description, not an instruction.
const VERBS = new Set(
  (
    "add adjust append apply assert build call change check collapse combine compute configure convert copy " +
    "create declare define delete deprecate document drop emit enable disable ensure export extend extract fix " +
    "format generate guard handle implement import include increase decrease initialise initialize inline insert " +
    "introduce keep list load log make map mark merge migrate move normalize normalise parse pass port prefix " +
    "print raise read record reduce refactor register remove rename reorder replace restore return reuse run " +
    "save set sort split store strip substitute swap throw trim type update upgrade use validate verify wrap " +
    "write annotate bump cache catch clamp clear close collect compare compose connect construct count decode " +
    "encode escape expose fill filter find flatten forward hoist inject invoke join limit lower memoize mock " +
    "open override pad pin populate propagate quote re-export rebuild recompute redirect reject release rename " +
    "repeat require reset resolve retry rewrite route schedule select send serialize show simplify skip " +
    "specify start stop stub subscribe test toggle track translate unwrap upsert wire yield give put take " +
    "accept allow attach branch cap change clone commit derive dispatch display edit extend fetch hide hook " +
    "index lift lock narrow note omit pull push queue reach reindex relax remove shorten sanitize slice spread " +
    "prepend assign provide preserve iterate increment decrement leave group await loop bind expect turn " +
    "instantiate destructure unify widen tighten delegate duplicate shift consolidate cover " +
    "then finally first next also do not don't never only in at for on after before inside within if when"
  ).split(/\s+/),
);

function words(text: string): number {
  return text.trim().split(/\s+/).filter(Boolean).length;
}

/** Shell patterns that write to the tree; validation should observe, not change. */
const MODIFYING = [
  /\bsed\s+(-[a-zA-Z]*i|--in-place)/,
  /\b(rm|mv|cp|touch|mkdir|rmdir|chmod|chown|ln|tee|truncate)\s/,
  /\bgit\s+(add|commit|checkout|reset|stash|apply|am|merge|rebase|clean|restore|switch|push|pull|rm|mv)\b/,
  /\b(npm|pnpm|yarn|bun)\s+(i|install|add|remove|uninstall|update|ci)\b/,
  /\bpip\s+install\b/,
  /--fix(?![\w-])|--write(?![\w-])|\bprettier\s+(-w|--write)|\bgofmt\s+-w|\bblack\s+(?!--check)/,
];

/** A redirect into a file (`> f`, `>> f`, `2> f`, `&> f`), but not `=>`, `2>&1` or `> /dev/null`. */
const REDIRECT = /(^|[^>=<-])>>?\s*(?!\/dev\/null(?![^\s;|&)])|&)[^\s|&;)]/;

export function modifiesFiles(command: string): boolean {
  // Quoted text is data (`node -e "x => y"`, `grep "a > b"`): a redirect is only a redirect outside quotes.
  const unquoted = command.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, '""');
  return REDIRECT.test(unquoted) || MODIFYING.some((re) => re.test(command));
}

/**
 * The workflow's lint rules (DESIGN "Lint"). Errors block storing the task; warnings are advice.
 * Pure: everything it needs from disk arrives in `facts`.
 */
export function lintMiniTask(spec: MiniTaskSpec, facts: LintFacts): LintIssue[] {
  const out: LintIssue[] = [];
  const error = (field: string, message: string) => out.push({ level: "error", field, message });
  const warn = (field: string, message: string) => out.push({ level: "warning", field, message });

  if (spec.validation.length === 0)
    error("validation", "validation is empty; add at least one command that proves the task is done.");
  if (spec.acceptance_criteria.length === 0)
    error(
      "acceptance_criteria",
      "acceptance_criteria is empty; add what must be true when the task is done.",
    );

  const ctxWords = words(spec.context ?? "");
  if (ctxWords > CONTEXT_MAX_WORDS)
    error("context", `context has ${ctxWords} words; cut it to ${CONTEXT_MAX_WORDS} or fewer.`);

  for (const [i, f] of spec.files_to_read.entries()) {
    const field = `files_to_read[${i}]`;
    const fact = facts.read[i];
    if (!fact) continue;
    if (fact.refused) {
      error(`${field}.path`, fact.refused);
      continue;
    }
    if (!fact.exists) {
      error(`${field}.path`, `${shown(f.path)} does not exist; fix the path or drop the entry.`);
      continue;
    }
    if (fact.isFile === false) {
      error(`${field}.path`, `${shown(f.path)} is not a file; list files, not directories.`);
      continue;
    }
    if (f.lines) {
      // Null where a template's target filled in something that is not a range.
      const r = parseLines(f.lines);
      if (r === null || r.start < 1 || r.end < r.start)
        error(
          `${field}.lines`,
          `${field}.lines ${shown(f.lines, 30)} is not a range; write START-END with 1 ≤ START ≤ END.`,
        );
      else if (fact.lineCount !== undefined && r.end > fact.lineCount)
        error(
          `${field}.lines`,
          `${field}.lines ${shown(f.lines, 30)} is beyond the end of ${shown(f.path)} (${fact.lineCount} lines); use a range within 1-${fact.lineCount}.`,
        );
    } else if (fact.lineCount !== undefined && fact.lineCount > WHOLE_FILE_MAX_LINES) {
      // Sent whole, a long file is paid for on every executor turn (5,000 lines ≈ 50k tokens a turn).
      error(
        `${field}.lines`,
        `${field} reads all ${fact.lineCount} lines of ${shown(f.path)}; give lines START-END (files over ${WHOLE_FILE_MAX_LINES} lines are never sent whole).`,
      );
    }
  }
  if (spec.files_to_read.length > 2)
    warn(
      "files_to_read",
      `${spec.files_to_read.length} files to read; more than 2 usually means the task is not atomic.`,
    );

  const seen = new Set<string>();
  for (const [i, f] of spec.files_to_modify.entries()) {
    const field = `files_to_modify[${i}].path`;
    const fact = facts.modify[i];
    // "./src/a.ts" and "src//a.ts" name src/a.ts too.
    const key = f.path
      .split("/")
      .filter((s) => s !== "" && s !== ".")
      .join("/");
    if (seen.has(key)) error(field, `${shown(f.path)} is listed twice in files_to_modify; list it once.`);
    seen.add(key);
    if (!fact) continue;
    if (fact.refused) {
      error(field, fact.refused);
      continue;
    }
    if (f.action === "edit" && !fact.exists)
      error(
        field,
        `${shown(f.path)} does not exist, so it cannot be edited; use action "create" or fix the path.`,
      );
    if (f.action === "create" && fact.exists)
      warn(
        field,
        `${shown(f.path)} already exists; action "create" will overwrite it (use "edit" to change it).`,
      );
    if (fact.exists && fact.isFile === false) error(field, `${shown(f.path)} is a directory; list a file.`);
  }

  spec.depends_on.forEach((id, i) => {
    if (!facts.knownTaskIds.has(id))
      error(
        `depends_on[${i}]`,
        `depends_on names ${id}, which does not exist; create it first or fix the id.`,
      );
  });

  const merge = facts.mergeCandidates ?? [];
  if (facts.promptTokens < SWEET_SPOT.min && merge.length > 0) {
    warn(
      "estimate",
      `the executor prompt is ~${facts.promptTokens} tokens per turn, below the 2,000–5,000 sweet spot, and ${merge.slice(0, 3).join(", ")} modifies the same file(s); consider merging them into one task.`,
    );
  } else if (facts.promptTokens > SWEET_SPOT.max) {
    warn(
      "estimate",
      `the executor prompt is ~${facts.promptTokens} tokens per turn (estimate.input_tokens counts every turn), above the 2,000–5,000 sweet spot; split the task or narrow the line ranges.`,
    );
  }

  if (facts.snippetTokens && facts.outputTokens) {
    const share = facts.snippetTokens / facts.outputTokens;
    const limit = snippetChangeShare(facts.outputPriceRatio);
    if (share >= limit)
      warn(
        "snippets",
        `the snippet is the change: snippets are ~${Math.round(share * 100)}% of what the executor will write (≥ ${Math.round(limit * 100)}%), so the planner paid for it already; give the pattern and let the executor write the rest, or make the edit yourself.`,
      );
  }

  const prose: [string, string][] = [
    ["objective", spec.objective],
    ["context", spec.context ?? ""],
    ...spec.steps.map((s, i): [string, string] => [`steps[${i}]`, s]),
    ...spec.acceptance_criteria.map((s, i): [string, string] => [`acceptance_criteria[${i}]`, s]),
  ];
  for (const [field, text] of prose) {
    const lower = text.toLowerCase();
    const hit = VAGUE.find((v) => new RegExp(`(^|[^a-z])${v.replace(/[.]/g, "\\.")}([^a-z]|$)`).test(lower));
    if (hit) warn(field, `"${hit}" is vague; the executor cannot resolve it, so say exactly what to do.`);
  }

  spec.steps.forEach((step, i) => {
    const first = step
      .replace(/^\s*(\d+[.)]|[-*•])\s*/, "")
      .trim()
      .split(/[\s:,(`]+/)
      .find(Boolean)
      ?.toLowerCase()
      .replace(/[^a-z'-]/g, "");
    if (first && !VERBS.has(first) && !/^(re|un|de)?[a-z]+(ize|ise|ify)$/.test(first))
      warn(
        `steps[${i}]`,
        `step ${i + 1} does not start with a verb ("${shown(first, 40)}"); start with the action, e.g. "Add ...".`,
      );
  });

  spec.validation.forEach((v, i) => {
    if (modifiesFiles(v.run))
      warn(
        `validation[${i}].run`,
        `"${shown(v.run, 60)}" looks like it modifies files; validation should only check.`,
      );
    // A broken /regex/ would only surface after a paid model call: catch it now.
    const re = v.expect_output ? /^\/(.+)\/([dgimsuvy]*)$/s.exec(v.expect_output) : null;
    if (re) {
      try {
        new RegExp(re[1]!, re[2]);
      } catch (err) {
        error(
          `validation[${i}].expect_output`,
          `validation[${i}].expect_output is not a valid /regex/ (${shown((err as Error).message, 80)}); fix it or drop the slashes to match a substring.`,
        );
      }
    }
  });

  return out;
}

export function hasBlocking(issues: LintIssue[]): boolean {
  return issues.some((i) => i.level === "error");
}
