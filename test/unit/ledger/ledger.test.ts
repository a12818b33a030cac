import { execFile } from "node:child_process";
import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ledgerEntrySchema } from "../../../src/core/ledger-entry.js";
import { LEDGER_FILE, Ledger } from "../../../src/store/ledger.js";
import { entry } from "./fixtures/entries.js";

const run = promisify(execFile);
let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ledger-"));
  path = join(dir, "mini-projects", LEDGER_FILE);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("Ledger", () => {
  it("reads a missing file as an empty ledger", async () => {
    expect(await new Ledger(path).read()).toEqual({ entries: [], warnings: [] });
  });

  it("creates the parent directory and writes one JSON line per record", async () => {
    const ledger = new Ledger(path);
    await ledger.append(entry({ note: "first" }));
    await ledger.appendMany([entry({ note: "second" }), entry({ note: "third", cost_usd: null })]);
    const text = await readFile(path, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.trimEnd().split("\n");
    expect(lines.map((l) => JSON.parse(l).note)).toEqual(["first", "second", "third"]);
    const { entries, warnings } = await ledger.read();
    expect(warnings).toEqual([]);
    expect(entries).toEqual([
      entry({ note: "first" }),
      entry({ note: "second" }),
      entry({ note: "third", cost_usd: null }),
    ]);
  });

  it("refuses to append a record that breaks the schema (a bug, not data)", async () => {
    const ledger = new Ledger(path);
    await expect(ledger.append(entry({ input_tokens: -1 }))).rejects.toThrow(/input_tokens/);
    await expect(ledger.append({ ...entry(), extra: 1 } as never)).rejects.toThrow(/invalid ledger record/);
    expect((await ledger.read()).entries).toEqual([]);
  });

  it("filters by project", async () => {
    const ledger = new Ledger(path);
    await ledger.appendMany([
      entry({ project: "a" }),
      entry({ project: "b" }),
      entry({ project: "a", note: "x" }),
    ]);
    const { entries } = await ledger.read({ project: "a" });
    expect(entries.map((e) => e.note)).toEqual([undefined, "x"]);
  });

  it("starts a fresh line after a torn last line and reports the torn one by number", async () => {
    const ledger = new Ledger(path);
    await ledger.append(entry({ note: "before" }));
    // A crash mid-write: half a record, no newline.
    const torn = JSON.stringify(entry({ note: "torn" })).slice(0, 40);
    await appendFile(path, torn);
    await ledger.append(entry({ note: "after" }));
    const lines = (await readFile(path, "utf8")).split("\n");
    expect(lines[1]).toBe(torn);
    expect(JSON.parse(lines[2]!).note).toBe("after");
    const { entries, warnings } = await ledger.read();
    expect(entries.map((e) => e.note)).toEqual(["before", "after"]);
    expect(warnings).toEqual(["ledger.jsonl line 2 is not valid JSON; skipped."]);
  });

  it("reports a torn line at the very end of the file (no append after the crash)", async () => {
    const ledger = new Ledger(path);
    await ledger.append(entry());
    await appendFile(path, '{"ts":"2026-01-02T');
    const { entries, warnings } = await ledger.read();
    expect(entries).toHaveLength(1);
    expect(warnings).toEqual(["ledger.jsonl line 2 is not valid JSON; skipped."]);
  });

  it("skips a corrupt middle line and a schema-invalid line, naming each, and keeps the rest", async () => {
    const ledger = new Ledger(path);
    await ledger.append(entry({ note: "1" }));
    await appendFile(path, "garbage {not json\n");
    await appendFile(path, `${JSON.stringify({ ...entry(), phase: "lunch" })}\n`);
    await appendFile(path, "\n");
    await ledger.append(entry({ note: "5" }));
    const { entries, warnings } = await ledger.read();
    expect(entries.map((e) => e.note)).toEqual(["1", "5"]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toBe("ledger.jsonl line 2 is not valid JSON; skipped.");
    expect(warnings[1]).toMatch(/^ledger\.jsonl line 3 is not a ledger record \(phase: .*\); skipped\.$/);
  });

  it("keeps records written by a newer version with an extra field", async () => {
    const ledger = new Ledger(path);
    await ledger.append(entry());
    await appendFile(path, `${JSON.stringify({ ...entry({ note: "new" }), region: "eu" })}\n`);
    const { entries, warnings } = await ledger.read();
    expect(warnings).toEqual([]);
    expect(entries[1]).toEqual(entry({ note: "new" }));
  });

  it("reads lines split across stream chunks and multi-byte characters", async () => {
    const ledger = new Ledger(path);
    const notes = Array.from({ length: 3000 }, (_, i) => `é€😀 ${i} ${"x".repeat(i % 700)}`);
    await ledger.appendMany(notes.map((note) => entry({ note })));
    const { entries, warnings } = await ledger.read();
    expect(warnings).toEqual([]);
    expect(entries.map((e) => e.note)).toEqual(notes);
  });

  it("loses nothing with two processes appending at once (10,000 records each)", async () => {
    const child = join(import.meta.dirname, "fixtures", "append-child.ts");
    const spawnWriter = (name: string) =>
      run(process.execPath, ["--import", "tsx", child, path, name, "10000"], { cwd: process.cwd() });
    await Promise.all([spawnWriter("a"), spawnWriter("b")]);
    const lines = (await readFile(path, "utf8")).split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(20_000);
    for (const line of lines) expect(ledgerEntrySchema.safeParse(JSON.parse(line)).success).toBe(true);
    const { entries, warnings } = await new Ledger(path).read();
    expect(warnings).toEqual([]);
    for (const w of ["a", "b"]) {
      const notes = entries.filter((e) => e.task === `demo/01-${w}`).map((e) => e.note);
      expect(notes).toEqual(Array.from({ length: 10_000 }, (_, i) => `${w}-${i}`));
    }
  }, 120_000);
});
