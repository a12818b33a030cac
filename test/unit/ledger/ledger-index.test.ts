import { execFile } from "node:child_process";
import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LedgerEntry } from "../../../src/core/ledger-entry.js";
import { LEDGER_FILE, Ledger } from "../../../src/store/ledger.js";
import { INDEX_DIR, LedgerIndex, shardName } from "../../../src/store/ledger-index.js";
import { varied } from "./fixtures/entries.js";

const run = promisify(execFile);
let dir: string;
let path: string;
let cursorPath: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ledger-index-"));
  path = join(dir, LEDGER_FILE);
  cursorPath = join(dir, INDEX_DIR, "cursor.json");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The truth the index must match: a full read of the ledger. */
async function fromFullRead(project = "demo") {
  const read = await new Ledger(path).read();
  return {
    entries: read.entries.filter((e) => e.project === project),
    transcript: read.entries.filter((e) => e.origin === "client-transcript"),
    warnings: read.warnings,
  };
}

/** What a fresh process gets from the index. */
async function fromIndex(project = "demo") {
  const got = await new LedgerIndex(path).read(project);
  if (!got) throw new Error("index busy or missing");
  return { entries: got.entries, transcript: got.transcript, warnings: got.warnings };
}

async function appendRecords(from: number, to: number, opts: { index?: boolean } = {}) {
  const ledger = new Ledger(path, { fsync: false, ...opts });
  for (let i = from; i < to; i++) await ledger.append(withTranscript(varied(i), i));
}

/** Every fourth record a client-transcript one, so the transcript shard is exercised too. */
function withTranscript(e: LedgerEntry, i: number): LedgerEntry {
  return i % 4 === 1 ? { ...e, source: "measured", origin: "client-transcript", session: `s${i % 3}` } : e;
}

async function covered(): Promise<number> {
  return (JSON.parse(await readFile(cursorPath, "utf8")) as { offset: number }).offset;
}

describe("ledger index", () => {
  it("gives each project exactly the records a full read gives, after more appends too", async () => {
    await appendRecords(0, 150);
    expect(await fromIndex()).toEqual(await fromFullRead());
    expect(await fromIndex("other")).toEqual(await fromFullRead("other"));
    await appendRecords(150, 230);
    expect(await fromIndex()).toEqual(await fromFullRead());
    expect(await covered()).toBe((await stat(path)).size);
  });

  it("is right after a kill between the ledger append and the index update", async () => {
    const child = join(import.meta.dirname, "fixtures/killed-append-child.ts");
    const killed = await run(process.execPath, ["--import", "tsx", child, path, "40"]).then(
      () => undefined,
      (err: { signal?: string }) => err.signal,
    );
    expect(killed).toBe("SIGKILL");
    // The kill left the index one record behind the ledger ...
    const size = (await stat(path)).size;
    expect(await covered()).toBeLessThan(size);
    expect((await readFile(path, "utf8")).trimEnd().split("\n")).toHaveLength(41);
    // ... and a report still gets that record, once.
    expect(await fromIndex()).toEqual(await fromFullRead());
    expect(await covered()).toBe(size);
  });

  it("cuts shard bytes an interrupted update wrote past the cursor, never counting them twice", async () => {
    await appendRecords(0, 60);
    await fromIndex();
    // An update killed after appending to a shard and before saving the cursor.
    const shard = join(dir, INDEX_DIR, shardName("demo"));
    const stray = (await readFile(shard, "utf8")).split("\n")[0]!;
    await appendFile(shard, `${stray}\n${stray}\n`);
    await appendFile(join(dir, INDEX_DIR, shardName("never-committed")), `${stray}\n`);
    expect(await fromIndex()).toEqual(await fromFullRead());
    expect(await fromIndex("never-committed")).toEqual(await fromFullRead("never-committed"));
  });

  it("rebuilds from the ledger when the cursor is torn or unreadable", async () => {
    await appendRecords(0, 100);
    await fromIndex();
    const text = await readFile(cursorPath, "utf8");
    await writeFile(cursorPath, text.slice(0, Math.floor(text.length / 2)));
    expect(await fromIndex()).toEqual(await fromFullRead());
    await writeFile(cursorPath, '{"version":1,"offset":"x"}');
    expect(await fromIndex()).toEqual(await fromFullRead());
  });

  it("rebuilds when the ledger is no longer the one it covers: replaced, shorter, or edited in place", async () => {
    await appendRecords(0, 100);
    await fromIndex();
    const saved = await readFile(cursorPath);
    await rm(path);
    await appendRecords(500, 520, { index: false });
    await writeFile(cursorPath, saved);
    expect(await fromIndex()).toEqual(await fromFullRead());
    await appendRecords(0, 100, { index: false });
    await fromIndex();
    const size = (await stat(path)).size;
    const original = await readFile(path, "utf8");
    await writeFile(path, original.replaceAll('"output_tokens":1', '"output_tokens":2'));
    expect((await stat(path)).size).toBe(size);
    expect(await fromIndex()).toEqual(await fromFullRead());
  });

  it("rebuilds when a shard is shorter than the cursor says (lost in a crash)", async () => {
    await appendRecords(0, 80);
    await fromIndex();
    await writeFile(join(dir, INDEX_DIR, shardName("demo")), "");
    expect(await fromIndex()).toEqual(await fromFullRead());
  });

  it("counts nothing when the ledger is gone, whatever the index holds", async () => {
    await appendRecords(0, 50);
    await fromIndex();
    await rm(path);
    expect((await fromIndex()).entries).toEqual([]);
  });

  it("waits for the newline of a line still being written, and names skipped lines as a full read does", async () => {
    await appendRecords(0, 20);
    await appendFile(path, "not json\n");
    await appendRecords(20, 30);
    await appendFile(path, '{"ts":"2026-01-02T03:04:05.000Z","proj');
    const partial = await fromIndex();
    expect(await covered()).toBeLessThan((await stat(path)).size);
    expect(partial.warnings).toContain("ledger.jsonl line 21 is not valid JSON; skipped.");
    await appendFile(path, 'ect":"demo"}\n');
    expect(await fromIndex()).toEqual(await fromFullRead());
  });

  it("leaves the index to a process that holds it: the caller reads the ledger instead", async () => {
    await appendRecords(0, 10);
    await mkdir(join(dir, INDEX_DIR), { recursive: true });
    // A live process (this test's parent) holds the lock.
    await writeFile(join(dir, INDEX_DIR, "index.lock"), String(process.ppid));
    expect(await new LedgerIndex(path).read("demo")).toBeUndefined();
    // A holder that died: the lock is taken over.
    await writeFile(join(dir, INDEX_DIR, "index.lock"), "999999999");
    expect(await fromIndex()).toEqual(await fromFullRead());
  });
});
