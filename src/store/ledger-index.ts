import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  unlink,
} from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type LedgerEntry, parseLedgerLine } from "../core/ledger-entry.js";
import { SLUG_RE } from "../core/mini-task.js";
import { writeFileAtomic } from "./atomic.js";

/** Beside the ledger in the delegate dir; derived data, rebuilt from the ledger whenever in doubt. */
export const INDEX_DIR = ".ledger-index";
const CURSOR = "cursor.json";
const LOCK = "index.lock";
/** Client-transcript records of every project: a project's report needs its sessions' other turns. */
const TRANSCRIPT_SHARD = "~client-transcript.jsonl";

const VERSION = 1;
/** Bytes of the ledger's start and of the bytes before the covered offset kept to recognise it. */
const FINGERPRINT_BYTES = 64;
/** Skipped-line warnings kept word for word; the rest are counted (the report shows 10). */
const KEPT_WARNINGS = 10;
const CHUNK = 1 << 20;
const NEWLINE = 0x0a;
/** An append brings the index up to date once this much of the ledger is not in it yet. */
const UPDATE_AFTER_BYTES = 256 << 10;

interface Cursor {
  version: number;
  /** The ledger file the shards were split from (a replaced file is another ledger). */
  ino: number;
  /** Hex of the ledger's first bytes. */
  head: string;
  /** Bytes of the ledger split into shards so far: always just after a newline. */
  offset: number;
  /** Lines read so far, so warnings name the same line numbers a full read would. */
  lines: number;
  /** Hex of the FINGERPRINT_BYTES before `offset`. */
  tail: string;
  /** The ledger's size and mtime when last read: the same size with another mtime is an edit. */
  seenSize: number;
  seenMtimeMs: number;
  warnings: string[];
  moreWarnings: number;
  /** Committed length of each shard file: bytes beyond it are from an update that did not finish. */
  shards: Record<string, number>;
}

function fresh(ino: number): Cursor {
  return {
    version: VERSION,
    ino,
    head: "",
    offset: 0,
    lines: 0,
    tail: "",
    seenSize: 0,
    seenMtimeMs: 0,
    warnings: [],
    moreWarnings: 0,
    shards: {},
  };
}

/** A project's shard file name: its slug, or hex for a name that is not one (a hand-edited ledger). */
export function shardName(project: string): string {
  return SLUG_RE.test(project) ? `${project}.jsonl` : `~${Buffer.from(project).toString("hex")}.jsonl`;
}

export interface ProjectRecords {
  /** The project's records, in ledger order. */
  entries: LedgerEntry[];
  /** Every client-transcript record of the ledger (any project), in ledger order. */
  transcript: LedgerEntry[];
  /** Skipped-line warnings of the whole ledger (the first few) and how many more there were. */
  warnings: string[];
  moreWarnings: number;
}

/**
 * The ledger split by project: each project's records copied, line for line, into its own shard
 * beside the ledger, with a cursor saying how much of the ledger the shards hold. A report reads
 * its project's shard and folds in only what was appended since, instead of the whole ledger.
 *
 * The ledger stays the only truth. The cursor is replaced atomically and records the committed
 * length of every shard, so an update cut short (a crash, a kill) leaves bytes that the next update
 * cuts off; it also records which ledger (inode, first bytes, the bytes before its offset) it
 * covers, and a missing, torn or mismatched cursor makes the next report rebuild the shards from
 * the whole ledger. A crash between a ledger append and the index update leaves the index behind,
 * never ahead. One process updates at a time (a lock file); a report that finds another process
 * updating reads the whole ledger instead.
 */
export class LedgerIndex {
  readonly ledgerPath: string;
  readonly dir: string;
  /** Ledger bytes the index held when this process last looked (undefined: not looked yet). */
  private known: number | undefined;
  /** Calls in this process take turns; the lock file keeps other processes out. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(ledgerPath: string) {
    this.ledgerPath = ledgerPath;
    this.dir = join(dirname(ledgerPath), INDEX_DIR);
  }

  /**
   * The project's records, with the index caught up first (rebuilt when needed); undefined when
   * another process holds the index or the ledger is missing, and the caller reads the ledger.
   */
  async read(project: string): Promise<ProjectRecords | undefined> {
    return this.locked(async () => {
      for (let attempt = 0; attempt < 2; attempt++) {
        const cursor = await this.catchUp({ rebuild: true });
        if (!cursor) return undefined;
        const [entries, transcript] = await Promise.all([
          this.readShard(shardName(project), cursor),
          this.readShard(TRANSCRIPT_SHARD, cursor),
        ]);
        if (entries && transcript)
          return { entries, transcript, warnings: cursor.warnings, moreWarnings: cursor.moreWarnings };
        // A shard that does not hold what the cursor says: rebuild everything from the ledger.
        await this.clear();
      }
      return undefined;
    });
  }

  /**
   * After an append of the ledger that is now `size` bytes: bring the index up to date once enough
   * is missing from it, so a report never has much to catch up. Never rebuilds (a report's job).
   * Best effort: the record is already safe in the ledger; a failure leaves the index behind.
   */
  async afterAppend(size: () => Promise<number>): Promise<void> {
    if (this.known === undefined || (await size()) - this.known < UPDATE_AFTER_BYTES) return;
    await this.locked(() => this.catchUp({ rebuild: false })).catch(() => {});
  }

  private locked<T>(work: () => Promise<T | undefined>): Promise<T | undefined> {
    const run = this.chain.then(() => this.lockedAcrossProcesses(work));
    this.chain = run.catch(() => {});
    return run;
  }

  /** Runs `work` holding the index lock; undefined when another live process holds it. */
  private async lockedAcrossProcesses<T>(work: () => Promise<T | undefined>): Promise<T | undefined> {
    await mkdir(this.dir, { recursive: true });
    const lock = join(this.dir, LOCK);
    let fh: FileHandle | undefined;
    for (let tries = 0; tries < 2 && !fh; tries++) {
      try {
        fh = await open(lock, "wx");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        const holder = Number(await readFile(lock, "utf8").catch(() => ""));
        if (holder > 0 && alive(holder)) return undefined;
        // Left by a process that died holding it (or an empty file from a crash while taking it).
        await unlink(lock).catch(() => {});
      }
    }
    if (!fh) return undefined;
    try {
      await fh.writeFile(String(process.pid));
      await fh.close();
      return await work();
    } finally {
      await unlink(lock).catch(() => {});
    }
  }

  /** The cursor caught up with the ledger; undefined when that needs a rebuild and `rebuild` is false. */
  private async catchUp(opts: { rebuild: boolean }): Promise<Cursor | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(this.ledgerPath, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      // No ledger, no records: shards left from a deleted ledger must not count.
      await this.clear();
      this.known = 0;
      const empty = fresh(0);
      await this.saveCursor(empty);
      return empty;
    }
    try {
      const seen = await fh.stat();
      let cursor = await this.loadCursor();
      let window = cursor ? await this.firstWindow(fh, cursor, seen) : undefined;
      if (!cursor || !window) {
        if (!opts.rebuild) return undefined;
        await this.clear();
        cursor = fresh(seen.ino);
        window = await readAt(fh, 0, Math.min(CHUNK, seen.size));
      } else if (!(await this.cutUncommitted(cursor))) {
        await this.clear();
        cursor = fresh(seen.ino);
        window = await readAt(fh, 0, Math.min(CHUNK, seen.size));
      }
      const moved = await this.split(fh, cursor, seen.size, window);
      if (moved || seen.size !== cursor.seenSize || seen.mtimeMs !== cursor.seenMtimeMs) {
        cursor.seenSize = seen.size;
        cursor.seenMtimeMs = seen.mtimeMs;
        await this.saveCursor(cursor);
      }
      this.known = cursor.offset;
      return cursor;
    } finally {
      await fh.close();
    }
  }

  /**
   * The bytes from FINGERPRINT_BYTES before the cursor's offset onward (one chunk at most) when
   * the cursor describes a prefix of this very ledger; undefined when it does not.
   */
  private async firstWindow(
    fh: FileHandle,
    cursor: Cursor,
    seen: { ino: number; size: number; mtimeMs: number },
  ): Promise<Buffer | undefined> {
    if (cursor.ino !== seen.ino || cursor.offset > seen.size) return undefined;
    // Appends always grow the file; a change that kept the size was an edit of what is covered.
    if (seen.size === cursor.seenSize && seen.mtimeMs !== cursor.seenMtimeMs) return undefined;
    const from = Math.max(0, cursor.offset - FINGERPRINT_BYTES);
    const window = await readAt(fh, from, Math.min(CHUNK, seen.size - from));
    if (window.subarray(0, cursor.offset - from).toString("hex") !== cursor.tail) return undefined;
    if (cursor.offset > 0) {
      const head = await readAt(fh, 0, Math.min(FINGERPRINT_BYTES, cursor.offset));
      if (head.toString("hex") !== cursor.head.slice(0, head.length * 2)) return undefined;
    }
    return window;
  }

  /**
   * Copies each complete line from the cursor's offset to `size` into its project's shard (and
   * the transcript shard); a trailing partial line waits for its newline. Returns whether it moved.
   */
  private async split(fh: FileHandle, cursor: Cursor, size: number, window: Buffer): Promise<boolean> {
    const name = basename(this.ledgerPath);
    const from = Math.max(0, cursor.offset - FINGERPRINT_BYTES);
    let recent = window.subarray(0, cursor.offset - from);
    let carry = window.subarray(cursor.offset - from);
    let position = from + window.length;
    let consumedTo = cursor.offset;
    const start = cursor.offset;
    for (;;) {
      const lastNewline = carry.lastIndexOf(NEWLINE);
      if (lastNewline >= 0) {
        const complete = carry.subarray(0, lastNewline + 1);
        const out = new Map<string, string[]>();
        let begin = 0;
        for (let nl = complete.indexOf(NEWLINE); nl !== -1; nl = complete.indexOf(NEWLINE, begin)) {
          cursor.lines++;
          const line = complete.toString("utf8", begin, nl);
          begin = nl + 1;
          const got = parseLedgerLine(line, cursor.lines, name);
          if (got === undefined) continue;
          if (typeof got === "string") {
            if (cursor.warnings.length < KEPT_WARNINGS) cursor.warnings.push(got);
            else cursor.moreWarnings++;
            continue;
          }
          push(out, shardName(got.project), line);
          if (got.origin === "client-transcript") push(out, TRANSCRIPT_SHARD, line);
        }
        await this.appendShards(cursor, out);
        consumedTo += complete.length;
        recent = Buffer.concat([recent, complete]).subarray(-FINGERPRINT_BYTES);
        carry = carry.subarray(lastNewline + 1);
      }
      if (position >= size) break;
      const next = await readAt(fh, position, Math.min(CHUNK, size - position));
      if (next.length === 0) break;
      position += next.length;
      carry = carry.length ? Buffer.concat([carry, next]) : next;
    }
    if (consumedTo === start) return false;
    if (start === 0) cursor.head = window.subarray(0, FINGERPRINT_BYTES).toString("hex");
    cursor.offset = consumedTo;
    cursor.tail = recent.toString("hex");
    return true;
  }

  private async appendShards(cursor: Cursor, out: Map<string, string[]>): Promise<void> {
    for (const [shard, lines] of out) {
      const text = `${lines.join("\n")}\n`;
      const fh = await open(join(this.dir, shard), "a");
      try {
        await fh.writeFile(text, "utf8");
      } finally {
        await fh.close();
      }
      cursor.shards[shard] = (cursor.shards[shard] ?? 0) + Buffer.byteLength(text);
    }
  }

  /**
   * Shard bytes beyond the committed lengths came from an update that did not finish: cut them.
   * False when a shard is shorter than committed (lost in a crash): the index must be rebuilt.
   */
  private async cutUncommitted(cursor: Cursor): Promise<boolean> {
    const names = new Set(await readdir(this.dir));
    for (const [name, committed] of Object.entries(cursor.shards)) {
      if (committed > 0 && !names.has(name)) return false;
    }
    for (const name of names) {
      if (!name.endsWith(".jsonl")) continue;
      const committed = cursor.shards[name] ?? 0;
      const path = join(this.dir, name);
      if (committed === 0) {
        await rm(path, { force: true });
        continue;
      }
      const { size } = await stat(path);
      if (size < committed) return false;
      if (size > committed) await truncate(path, committed);
    }
    return true;
  }

  /** A shard's committed records; undefined when the file is shorter than committed (lost in a crash). */
  private async readShard(shard: string, cursor: Cursor): Promise<LedgerEntry[] | undefined> {
    const length = cursor.shards[shard] ?? 0;
    if (length === 0) return [];
    let buf: Buffer;
    try {
      const fh = await open(join(this.dir, shard), "r");
      try {
        buf = await readAt(fh, 0, length);
      } finally {
        await fh.close();
      }
    } catch {
      return undefined;
    }
    if (buf.length < length || buf[length - 1] !== NEWLINE) return undefined;
    const entries: LedgerEntry[] = [];
    let begin = 0;
    for (let nl = buf.indexOf(NEWLINE); nl !== -1; nl = buf.indexOf(NEWLINE, begin)) {
      const got = parseLedgerLine(buf.toString("utf8", begin, nl), 0, shard);
      begin = nl + 1;
      if (got === undefined || typeof got === "string") return undefined;
      entries.push(got);
    }
    return entries;
  }

  private async loadCursor(): Promise<Cursor | undefined> {
    try {
      const c = JSON.parse(await readFile(join(this.dir, CURSOR), "utf8")) as Cursor;
      const valid =
        c?.version === VERSION &&
        [c.ino, c.offset, c.lines, c.seenSize, c.seenMtimeMs, c.moreWarnings].every(Number.isFinite) &&
        typeof c.head === "string" &&
        typeof c.tail === "string" &&
        Array.isArray(c.warnings) &&
        typeof c.shards === "object" &&
        c.shards !== null;
      return valid ? c : undefined;
    } catch {
      return undefined; // missing or torn: rebuilt from the ledger
    }
  }

  /** Derived data: a crash may lose it (it is rebuilt), so no fsync. */
  private async saveCursor(cursor: Cursor): Promise<void> {
    await writeFileAtomic(join(this.dir, CURSOR), JSON.stringify(cursor), { fsync: false });
  }

  /** Every shard and the cursor gone: the start of a rebuild. */
  private async clear(): Promise<void> {
    await rm(join(this.dir, CURSOR), { force: true });
    for (const name of await readdir(this.dir).catch(() => [] as string[]))
      if (name.endsWith(".jsonl")) await rm(join(this.dir, name), { force: true });
  }
}

function push(map: Map<string, string[]>, key: string, line: string): void {
  const list = map.get(key);
  if (list) list.push(line);
  else map.set(key, [line]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  if (length <= 0) return Buffer.alloc(0);
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

const indexes = new Map<string, LedgerIndex>();

/** One index object per ledger in this process (it remembers how far the index was). */
export function indexOf(ledgerPath: string): LedgerIndex {
  let i = indexes.get(ledgerPath);
  if (!i) {
    i = new LedgerIndex(ledgerPath);
    indexes.set(ledgerPath, i);
  }
  return i;
}
