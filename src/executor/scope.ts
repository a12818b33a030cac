import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { messageOf, shown } from "../core/errors.js";
import { type MiniTaskSpec, parseLines } from "../core/mini-task.js";
import { countLines, numberLines, tail } from "../core/render.js";
import type { ToolCall } from "../providers/types.js";
import { protectedReason, safePath } from "../store/safe-path.js";
import type { ValidationRun } from "../validation/runner.js";

/** Lines returned by one read_file call; more must be asked for in ranges. */
export const READ_MAX_LINES = 400;
/** Largest file write_file accepts. */
export const WRITE_MAX_BYTES = 1024 * 1024;
/** Refused calls kept for the planner, and the length of each entry. */
export const REFUSED_KEPT = 30;
const REFUSED_ENTRY_CHARS = 300;
/** Output of a failing command shown to the executor. */
export const VALIDATION_TAIL_CHARS = 2000;

export interface ToolReply {
  content: string;
  isError: boolean;
}

export interface Finish {
  status: "complete" | "failed";
  summary: string;
}

function norm(p: string): string {
  return p.replace(/^\.\/+/, "");
}

function bigrams(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < text.length - 1; i++) {
    const g = text.slice(i, i + 2);
    out.set(g, (out.get(g) ?? 0) + 1);
  }
  return out;
}

/** Dice coefficient of character bigrams: 1 for equal strings, 0 for nothing in common. */
function similarity(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length < 2 || b.length < 2) return 0;
  const ga = bigrams(a);
  let common = 0;
  for (const [g, n] of bigrams(b)) common += Math.min(n, ga.get(g) ?? 0);
  return (2 * common) / (a.length - 1 + b.length - 1);
}

/** Closest window of `file` to `needle`, by per-line similarity, for a no-match hint. */
export function closestMatch(file: string, needle: string): { line: number; text: string } | null {
  const lines = file.split("\n");
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  const want = needle.split("\n").map((l) => l.trim());
  if (want.length > 1 && want[want.length - 1] === "") want.pop();
  const size = Math.min(Math.max(1, want.length), lines.length);
  let best = { score: 0, line: -1 };
  for (let i = 0; i + size <= lines.length; i++) {
    let score = 0;
    for (let j = 0; j < size; j++) score += similarity(lines[i + j]!.trim(), want[j] ?? "");
    if (score > best.score) best = { score, line: i };
  }
  if (best.line < 0 || best.score / size < 0.4) return null;
  return { line: best.line + 1, text: numberLines(file, best.line + 1, best.line + size) };
}

/** `text` with a leading "N<tab>" removed from every line, or null when some line has none. */
export function withoutLineNumbers(text: string): string | null {
  const lines = text.split("\n");
  const out: string[] = [];
  for (const [i, line] of lines.entries()) {
    const m = /^\d+\t/.exec(line);
    if (!m) {
      // A trailing empty line (text ending in "\n") carries no number.
      if (line === "" && i === lines.length - 1) {
        out.push(line);
        continue;
      }
      return null;
    }
    out.push(line.slice(m[0].length));
  }
  return out.join("\n");
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/**
 * The executor's tools, confined to its spec: reads only listed files (and only listed ranges of
 * read-only files), writes only files_to_modify, never a protected path, runs only the spec's
 * validation. Everything refused is recorded for the planner.
 */
export class ExecutorTools {
  readonly refused: string[] = [];
  readonly validations: ValidationRun[] = [];
  /**
   * The server's own run of the spec's commands after the executor's last write, if any: the
   * tree has not changed since, so the dispatcher can use it instead of running them again.
   */
  freshValidation: ValidationRun | undefined;
  finished: Finish | undefined;
  /** The spec's files_to_modify, normalized: the only files the executor may write. */
  readonly modify: ReadonlySet<string>;
  private readonly readable: Map<string, { start: number; end: number }[] | "all">;

  constructor(
    private readonly root: string,
    spec: MiniTaskSpec,
    private readonly delegateDirRel: string,
    private readonly validate: () => Promise<ValidationRun>,
  ) {
    this.modify = new Set(spec.files_to_modify.map((f) => norm(f.path)));
    this.readable = new Map();
    for (const f of spec.files_to_modify) this.readable.set(norm(f.path), "all");
    for (const f of spec.files_to_read) {
      const p = norm(f.path);
      if (this.readable.get(p) === "all") continue;
      if (!f.lines) {
        this.readable.set(p, "all");
        continue;
      }
      // Lint refuses a range that does not parse (a template's filled-in `lines`); never widen.
      const r = parseLines(f.lines);
      if (!r) continue;
      const list = (this.readable.get(p) as { start: number; end: number }[] | undefined) ?? [];
      list.push(r);
      this.readable.set(p, list);
    }
  }

  private refuse(what: string, why: string): ToolReply {
    // The planner reads this list (get_task, review_task): bounded whatever the executor sends.
    if (this.refused.length < REFUSED_KEPT) this.refused.push(shown(`${what}: ${why}`, REFUSED_ENTRY_CHARS));
    else if (this.refused.length === REFUSED_KEPT) this.refused.push("… further refused calls not listed");
    return { content: `Refused: ${why}`, isError: true };
  }

  async call(call: ToolCall): Promise<ToolReply> {
    if (call.argumentsError) {
      return {
        content: `Your arguments for ${call.name} were not valid JSON (${call.argumentsError}); call it again with a JSON object.`,
        isError: true,
      };
    }
    const args = call.arguments;
    try {
      switch (call.name) {
        case "read_file":
          return await this.readFile(args);
        case "write_file":
          return await this.writeFile(args);
        case "edit_file":
          return await this.editFile(args);
        case "run_validation":
          return await this.runValidation();
        case "finish":
          return this.finish(args);
        default:
          return this.refuse(
            `tool ${call.name}`,
            `there is no tool "${call.name}"; use read_file, write_file, edit_file, run_validation or finish.`,
          );
      }
    } catch (err) {
      return { content: `${call.name} failed: ${messageOf(err)}`, isError: true };
    }
  }

  private str(args: Record<string, unknown>, key: string, tool: string): string {
    const v = args[key];
    if (typeof v !== "string") throw new Error(`${tool} needs "${key}" as a string`);
    return v;
  }

  private async resolve(path: string): Promise<string> {
    return (await safePath(this.root, path, "path")).abs;
  }

  private async readFile(args: Record<string, unknown>): Promise<ToolReply> {
    const path = norm(this.str(args, "path", "read_file"));
    const allowed = this.readable.get(path);
    if (!allowed)
      return this.refuse(
        `read_file ${path}`,
        `${path} is not listed in the task; you may read only ${[...this.readable.keys()].join(", ")}.`,
      );
    const text = await readFile(await this.resolve(path), "utf8").catch((err) => {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`${path} does not exist yet`);
      throw err;
    });
    const total = countLines(text);
    let start = typeof args.start_line === "number" ? Math.max(1, Math.floor(args.start_line)) : 1;
    let end = typeof args.end_line === "number" ? Math.min(total, Math.floor(args.end_line)) : total;
    if (allowed !== "all") {
      const inside =
        allowed.find((r) => start >= r.start && start <= r.end) ??
        (args.start_line === undefined ? allowed[0] : undefined);
      if (!inside) {
        const ranges = allowed.map((r) => `${r.start}-${r.end}`).join(", ");
        return this.refuse(
          `read_file ${path}:${start}`,
          `only lines ${ranges} of ${path} are listed in the task.`,
        );
      }
      if (args.start_line === undefined) start = inside.start;
      end = Math.min(end, inside.end);
    }
    if (end - start + 1 > READ_MAX_LINES) end = start + READ_MAX_LINES - 1;
    if (start > total) return { content: `${path} has ${total} lines.`, isError: false };
    return {
      content: `${path} lines ${start}-${end} of ${total}:\n${numberLines(text, start, end)}`,
      isError: false,
    };
  }

  private async checkWritable(path: string, tool: string): Promise<string | ToolReply> {
    if (!this.modify.has(path))
      return this.refuse(
        `${tool} ${path}`,
        `${path} is not under "Files to modify"; you may write only ${[...this.modify].join(", ")}.`,
      );
    const reason = protectedReason(path, this.delegateDirRel);
    if (reason) return this.refuse(`${tool} ${path}`, `${path}: ${reason}.`);
    let target: { abs: string; rel: string };
    try {
      target = await safePath(this.root, path, "path");
    } catch (err) {
      return this.refuse(`${tool} ${path}`, messageOf(err));
    }
    // A listed path can have become a symlink to a protected file (say .mcp.json) since the task was created.
    const via = protectedReason(target.rel, this.delegateDirRel);
    if (via) return this.refuse(`${tool} ${path}`, `${path} leads to ${target.rel}: ${via}.`);
    return target.abs;
  }

  private async writeFile(args: Record<string, unknown>): Promise<ToolReply> {
    const path = norm(this.str(args, "path", "write_file"));
    const content = this.str(args, "content", "write_file");
    const abs = await this.checkWritable(path, "write_file");
    if (typeof abs !== "string") return abs;
    if (Buffer.byteLength(content) > WRITE_MAX_BYTES)
      return { content: `content is over 1 MB; write smaller files.`, isError: true };
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, content);
    this.freshValidation = undefined;
    return { content: `Wrote ${path} (${countLines(content)} lines).`, isError: false };
  }

  private async editFile(args: Record<string, unknown>): Promise<ToolReply> {
    const path = norm(this.str(args, "path", "edit_file"));
    let oldString = this.str(args, "old_string", "edit_file");
    let newString = this.str(args, "new_string", "edit_file");
    const abs = await this.checkWritable(path, "edit_file");
    if (typeof abs !== "string") return abs;
    if (oldString === "")
      return { content: "old_string is empty; copy the exact text to replace from the file.", isError: true };
    let text: string;
    try {
      text = await readFile(abs, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      return { content: `${path} does not exist; use write_file to create it.`, isError: true };
    }
    let first = text.indexOf(oldString);
    let note = "";
    if (first < 0) {
      // Small models often copy the excerpt's "N<tab>" line numbers into old_string: when the text
      // matches without them (and new_string is numbered the same way), that is what was meant.
      const bareOld = withoutLineNumbers(oldString);
      const bareNew = withoutLineNumbers(newString);
      if (bareOld !== null && (bareNew !== null || !/^\d+\t/.test(newString))) {
        const at = text.indexOf(bareOld);
        if (at >= 0 && text.indexOf(bareOld, at + 1) < 0) {
          oldString = bareOld;
          newString = bareNew ?? newString;
          first = at;
          note = " (line numbers removed from old_string; leave them out next time)";
        }
      }
    }
    if (first < 0) {
      const near = closestMatch(text, oldString);
      const hint = near ? ` The closest text is at line ${near.line}:\n${near.text}` : "";
      return {
        content: `old_string was not found in ${path}; nothing was written. Copy it exactly (without line numbers).${hint}`,
        isError: true,
      };
    }
    const second = text.indexOf(oldString, first + 1);
    if (second >= 0) {
      const lines: number[] = [];
      for (let i = first; i >= 0 && lines.length < 10; i = text.indexOf(oldString, i + 1))
        lines.push(lineOf(text, i));
      return {
        content: `old_string matches ${lines.length >= 10 ? "10 or more" : lines.length} places in ${path} (lines ${lines.join(", ")}); nothing was written. Include more surrounding lines so it matches once.`,
        isError: true,
      };
    }
    await writeFile(abs, text.slice(0, first) + newString + text.slice(first + oldString.length));
    this.freshValidation = undefined;
    return { content: `Edited ${path} at line ${lineOf(text, first)}${note}.`, isError: false };
  }

  private async runValidation(): Promise<ToolReply> {
    const run = await this.validate();
    this.validations.push(run);
    this.freshValidation = run;
    if (run.passed)
      return { content: `Validation passed (${run.results.length} command(s)).`, isError: false };
    const failed = run.results.filter((r) => !r.passed && !r.skipped);
    const body = failed
      .map(
        (r) =>
          `$ ${r.run}\nexit ${r.exit_code ?? (r.timed_out ? "timeout" : "none")}\n${tail(r.output, VALIDATION_TAIL_CHARS)}`,
      )
      .join("\n\n");
    return { content: `Validation failed.\n${body}`, isError: false };
  }

  private finish(args: Record<string, unknown>): ToolReply {
    const status = args.status === "complete" ? "complete" : "failed";
    const summary = typeof args.summary === "string" ? args.summary : "";
    this.finished = { status, summary };
    return { content: "Done.", isError: false };
  }
}
