import { constants, createReadStream } from "node:fs";
import { type FileHandle, mkdir, open } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as delay } from "node:timers/promises";
import { type LedgerEntry, ledgerEntrySchema, parseLedgerLine } from "../core/ledger-entry.js";
import { indexOf } from "./ledger-index.js";
import { writeFailure } from "./write-failure.js";

/** The ledger's file name inside the delegate dir (mini-projects/ledger.jsonl). */
export const LEDGER_FILE = "ledger.jsonl";

export interface LedgerOptions {
  /** fsync after every append (default true). Off only for the benchmark's reference figure. */
  fsync?: boolean;
  /** Let appends keep the ledger index current (default true). */
  index?: boolean;
}

export interface LedgerRead {
  entries: LedgerEntry[];
  /** One sentence per skipped line, naming its line number. */
  warnings: string[];
}

const NEWLINE = 0x0a;
/** How long a file that does not end in a newline must hold still to count as torn. */
const SETTLE_MS = 2;

/**
 * Append-only JSON-lines ledger. Every append is one `write()` of whole lines on an O_APPEND
 * descriptor, then fsynced, so concurrent writers (other processes included) interleave whole
 * records and never lose one.
 */
export class Ledger {
  readonly path: string;
  private readonly fsync: boolean;
  private readonly index: boolean;

  constructor(path: string, options: LedgerOptions = {}) {
    this.path = path;
    this.fsync = options.fsync ?? true;
    this.index = options.index ?? true;
  }

  async append(entry: LedgerEntry): Promise<void> {
    await this.appendMany([entry]);
  }

  /** Appends the entries in one write (they land together, whole lines). */
  async appendMany(entries: readonly LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    let text = "";
    for (const entry of entries) text += `${serialize(entry)}\n`;
    let fh: FileHandle;
    try {
      fh = await openForAppend(this.path);
    } catch (err) {
      throw writeFailure(this.path, err);
    }
    try {
      try {
        if (await endsInTornLine(fh)) text = `\n${text}`;
        await writeAll(fh, Buffer.from(text, "utf8"));
        if (this.fsync) await fh.sync();
      } catch (err) {
        throw writeFailure(this.path, err);
      }
      // After the fsynced append, never before: a crash in between leaves the index behind, not ahead.
      if (this.index) await indexOf(this.path).afterAppend(async () => (await fh.stat()).size);
    } finally {
      await fh.close();
    }
  }

  /**
   * Every valid record (of `filter.project` when given), streaming the file. A line that is not
   * JSON or not a ledger record is skipped with a warning naming its line number; blank lines are
   * ignored. A missing file is an empty ledger.
   */
  async read(filter: { project?: string } = {}): Promise<LedgerRead> {
    const entries: LedgerEntry[] = [];
    const warnings: string[] = [];
    const name = basename(this.path);
    let lineNo = 0;
    const take = (line: string): void => {
      lineNo++;
      const got = parseLedgerLine(line, lineNo, name);
      if (got === undefined) return;
      if (typeof got === "string") warnings.push(got);
      else if (filter.project === undefined || got.project === filter.project) entries.push(got);
    };

    const decoder = new StringDecoder("utf8");
    let rest = "";
    try {
      for await (const chunk of createReadStream(this.path, { highWaterMark: 1 << 20 })) {
        const text = rest + decoder.write(chunk as Buffer);
        let start = 0;
        for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
          take(text.slice(start, nl));
          start = nl + 1;
        }
        rest = text.slice(start);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { entries: [], warnings: [] };
      throw err;
    }
    rest += decoder.end();
    if (rest !== "") take(rest);
    return { entries, warnings };
  }
}

/** The record as one JSON line; a record that breaks the schema is a bug, so it throws. */
function serialize(entry: LedgerEntry): string {
  const parsed = ledgerEntrySchema.safeParse(entry);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`Refusing to append an invalid ledger record: ${issue.path.join(".")}: ${issue.message}`);
  }
  return JSON.stringify(parsed.data);
}

/**
 * "a+" (O_APPEND for the write, readable so the last byte can be checked), not following a
 * symlink: a repository that ships the ledger as a link must not get appends written elsewhere.
 */
const APPEND_FLAGS = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0);

async function openForAppend(path: string): Promise<FileHandle> {
  try {
    return await open(path, APPEND_FLAGS, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await mkdir(dirname(path), { recursive: true });
    return open(path, APPEND_FLAGS, 0o644);
  }
}

/**
 * Whether the file ends in a torn line (a crash mid-write) that the next record must not glue
 * onto. Another process's write in progress can also look torn for a moment (the file grows a
 * page at a time), so a missing newline counts only once the size has held still.
 */
async function endsInTornLine(fh: FileHandle): Promise<boolean> {
  let size = (await fh.stat()).size;
  for (let tries = 0; tries < 5; tries++) {
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    const { bytesRead } = await fh.read(last, 0, 1, size - 1);
    if (bytesRead === 1 && last[0] === NEWLINE) return false;
    await delay(SETTLE_MS);
    const now = (await fh.stat()).size;
    if (now === size) return true;
    size = now;
  }
  return true;
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let offset = 0;
  try {
    while (offset < buf.length) {
      // Regular files take the whole buffer in one write; the loop covers the rare short write.
      const { bytesWritten } = await fh.write(buf, offset, buf.length - offset);
      offset += bytesWritten;
    }
  } catch (err) {
    // A full disk takes part of a record, then refuses the rest: take the part back.
    if (offset > 0) await takeBack(fh, buf.subarray(0, offset)).catch(() => {});
    throw err;
  }
}

/**
 * Cut `partial` off the end of the file if it is still the last thing there (no other writer
 * appended after it); otherwise leave it: the torn-line guard keeps the next record off it.
 */
async function takeBack(fh: FileHandle, partial: Buffer): Promise<void> {
  const { size } = await fh.stat();
  if (size < partial.length) return;
  const tail = Buffer.alloc(partial.length);
  const { bytesRead } = await fh.read(tail, 0, partial.length, size - partial.length);
  if (bytesRead === partial.length && tail.equals(partial)) await fh.truncate(size - partial.length);
}

/** The ledger of a delegate dir (mini-projects/ledger.jsonl). */
export function ledgerAt(dir: string): Ledger {
  return new Ledger(join(dir, LEDGER_FILE));
}
