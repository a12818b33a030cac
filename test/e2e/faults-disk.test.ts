/**
 * mini-projects/ cannot be written (disk full, a file-size limit, read-only, a file in the way):
 * create_mini_task and log_tokens answer one clear isError sentence, and nothing is half-written.
 * Real filesystem conditions only: RLIMIT_FSIZE (prlimit), a full tmpfs (root), chmod or chattr +i.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RawServer } from "./faults-helpers.js";
import { MATH, spec } from "./fixtures.js";
import { makeRepo, removeDir, tempDir } from "./harness.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const isRoot = process.getuid?.() === 0;
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

/** Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN, outside a locked-down container). */
function canMountTmpfs(): boolean {
  if (!isRoot || process.platform !== "linux") return false;
  const dir = tempDir("delegate-mount-probe-");
  try {
    if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=4k", "tmpfs", dir]).status !== 0) return false;
    spawnSync("umount", [dir]);
    return true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One whole ledger record of exactly `bytes` bytes with its newline. */
function ledgerRecord(bytes: number): string {
  const base = {
    ts: "2026-01-01T00:00:00.000Z",
    project: "calc",
    phase: "planning",
    model: "claude-sonnet-4-5",
    provider: "anthropic",
    input_tokens: 1000,
    output_tokens: 10,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    cost_usd: 0.003,
    source: "reported",
    note: "",
  };
  const pad = bytes - `${JSON.stringify(base)}\n`.length;
  if (pad < 0) throw new Error(`a record needs at least ${bytes - pad} bytes`);
  return `${JSON.stringify({ ...base, note: "x".repeat(pad) })}\n`;
}

const LOG = {
  project: "calc",
  phase: "planning",
  model: "sonnet",
  input_tokens: 1000,
  output_tokens: 10,
  note: "this record does not fit",
};

function textOf(result: Record<string, unknown>): string {
  return (result.content as { type: string; text: string }[]).map((c) => c.text).join("\n");
}

function setup() {
  const repo = makeRepo({ "src/math.ts": MATH });
  cleanups.push(() => removeDir(repo));
  const dir = join(repo, "mini-projects");
  mkdirSync(join(dir, "calc"), { recursive: true });
  return { repo, dir, ledger: join(dir, "ledger.jsonl") };
}

async function start(repo: string, wrap?: string[]): Promise<RawServer> {
  const server = new RawServer(repo, wrap ? { wrap } : {});
  cleanups.push(() => server.kill());
  await server.initialize();
  return server;
}

/** Whatever the failed create left in mini-projects/calc: nothing, or an empty .seq. */
function leftovers(dir: string): string[] {
  const calc = join(dir, "calc");
  const seq = join(calc, ".seq");
  return [
    ...readdirSync(calc).filter((n) => n !== ".seq"),
    ...(existsSync(seq) ? readdirSync(seq).map((n) => `.seq/${n}`) : []),
  ];
}

interface FullCondition {
  name: string;
  available: boolean;
  reason: RegExp;
  /** Seeds the ledger and makes further writes fail partway; returns the running server. */
  apply(env: ReturnType<typeof setup>): Promise<RawServer>;
  /** Space is back; returns a server to go on with. */
  lift(env: ReturnType<typeof setup>, server: RawServer): Promise<RawServer>;
}

const conditions: FullCondition[] = [
  {
    name: "a file-size limit (RLIMIT_FSIZE: writes stop partway with EFBIG)",
    available: has("prlimit"),
    reason: /file too large \(EFBIG\)/,
    async apply({ repo, ledger }) {
      writeFileSync(ledger, ledgerRecord(1000));
      // The next record fits 100 bytes, then the limit refuses the rest; a task file does not fit.
      return start(repo, ["prlimit", "--fsize=1100", "--"]);
    },
    async lift({ repo }, server) {
      server.child.stdin.end();
      await server.waitExit(10_000);
      return start(repo);
    },
  },
  {
    name: "a full filesystem (tmpfs: writes stop partway with ENOSPC)",
    available: canMountTmpfs(),
    reason: /no space left on device \(ENOSPC\)/,
    async apply({ repo, dir, ledger }) {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=16k,mode=0755", "tmpfs", dir]);
      cleanups.push(() => {
        spawnSync("umount", ["-l", dir]);
      });
      mkdirSync(join(dir, "calc"));
      // The ledger's page has 100 bytes left, and every other page is taken.
      writeFileSync(ledger, ledgerRecord(4096 - 100));
      const fd = openSync(join(dir, "filler"), "w");
      try {
        for (;;) writeSync(fd, Buffer.alloc(4096));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
      } finally {
        closeSync(fd);
      }
      return start(repo);
    },
    async lift({ dir }, server) {
      rmSync(join(dir, "filler"));
      return server;
    },
  },
];

/** A task whose stored JSON is well over the 1,100-byte file-size limit above. */
const FULL_DISK_SPEC = spec("Full disk", {
  context:
    "The module exports pure arithmetic helpers, one function per operation, each with a JSDoc line. ".repeat(
      6,
    ),
});

describe.each(conditions)("mini-projects/ when $name", (condition) => {
  it.skipIf(!condition.available)(
    "log_tokens and create_mini_task say what to fix, write nothing half, and work once space is back",
    async () => {
      const env = setup();
      let server = await condition.apply(env);
      const before = readFileSync(env.ledger, "utf8");

      const logged = await server.call("log_tokens", LOG);
      expect(logged.isError).toBe(true);
      expect(textOf(logged)).toMatch(
        new RegExp(
          `^cannot write \\S+/mini-projects/ledger\\.jsonl: ${condition.reason.source}; free space or fix permissions\\.$`,
        ),
      );
      // Not even the part of the record that fit.
      expect(readFileSync(env.ledger, "utf8")).toBe(before);

      const created = await server.call("create_mini_task", FULL_DISK_SPEC);
      expect(created.isError).toBe(true);
      expect(textOf(created)).toMatch(
        new RegExp(
          `^cannot write \\S+/mini-projects/calc/01-full-disk\\.json: ${condition.reason.source}; free space or fix permissions\\.$`,
        ),
      );
      // No temp file, no JSON without markdown, no task number held for a task that is not there.
      expect(leftovers(env.dir)).toEqual([]);

      server = await condition.lift(env, server);
      const again = await server.call("create_mini_task", FULL_DISK_SPEC);
      expect(again.isError, textOf(again)).toBeFalsy();
      expect((again.structuredContent as { id: string }).id).toBe("calc/01-full-disk");
      const relogged = await server.call("log_tokens", LOG);
      expect(relogged.isError, textOf(relogged)).toBeFalsy();
      const lines = readFileSync(env.ledger, "utf8").split("\n");
      expect(lines).toHaveLength(3);
      expect(lines[0]).toBe(before.trimEnd());
      expect(JSON.parse(lines[1]!)).toMatchObject({ note: LOG.note });
    },
  );
});

/**
 * Makes `paths` unwritable: chmod for a normal user; for root (whom modes do not stop) the
 * immutable attribute. Returns the undo, or null when neither stops a write here.
 */
function makeReadOnly(paths: { path: string; dir: boolean }[], probeDir: string): (() => void) | null {
  const undo = () => {
    for (const p of paths) {
      if (isRoot) spawnSync("chattr", ["-i", p.path]);
      else spawnSync("chmod", [p.dir ? "0755" : "0644", p.path]);
    }
  };
  for (const p of paths) {
    const r = isRoot
      ? spawnSync("chattr", ["+i", p.path])
      : spawnSync("chmod", [p.dir ? "0555" : "0444", p.path]);
    if (r.status !== 0) {
      undo();
      return null;
    }
  }
  try {
    writeFileSync(join(probeDir, "probe"), "x");
    rmSync(join(probeDir, "probe"), { force: true });
    undo();
    return null;
  } catch {
    return undo;
  }
}

describe("mini-projects/ that cannot be written", () => {
  it("read-only (mode 0555, or immutable for root): log_tokens, create_mini_task and savings_report say so", async (ctx) => {
    const { repo, dir, ledger } = setup();
    writeFileSync(ledger, ledgerRecord(400));
    const undo = makeReadOnly(
      [
        { path: ledger, dir: false },
        { path: join(dir, "calc"), dir: true },
        { path: dir, dir: true },
      ],
      dir,
    );
    if (!undo) return ctx.skip("neither chmod nor chattr +i stops a write here");
    cleanups.push(undo);
    const server = await start(repo);
    const reason = "(permission denied \\(EACCES\\)|operation not permitted \\(EPERM\\))";

    const logged = await server.call("log_tokens", LOG);
    expect(logged.isError).toBe(true);
    expect(textOf(logged)).toMatch(
      new RegExp(
        `^cannot write \\S+/mini-projects/ledger\\.jsonl: ${reason}; free space or fix permissions\\.$`,
      ),
    );
    const created = await server.call("create_mini_task", spec("Read only"));
    expect(created.isError).toBe(true);
    expect(textOf(created)).toMatch(
      new RegExp(`^cannot write \\S+/mini-projects/calc: ${reason}; free space or fix permissions\\.$`),
    );
    const report = await server.call("savings_report", { project: "calc" });
    expect(report.isError).toBe(true);
    expect(textOf(report)).toMatch(
      new RegExp(`^cannot write \\S+/mini-projects/calc/(LOG\\.md|savings\\.svg): ${reason}`),
    );

    expect(readFileSync(ledger, "utf8")).toBe(ledgerRecord(400));
    expect(readdirSync(join(dir, "calc"))).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(["calc", "ledger.jsonl"]);
  });

  it("a file where the project directory must go: create_mini_task names it and changes nothing", async () => {
    const { repo, dir } = setup();
    rmSync(join(dir, "calc"), { recursive: true });
    writeFileSync(join(dir, "calc"), "not a directory\n");
    const server = await start(repo);
    const created = await server.call("create_mini_task", spec("In the way"));
    expect(created.isError).toBe(true);
    expect(textOf(created)).toMatch(
      /^cannot write \S+\/mini-projects\/calc: not a directory \(ENOTDIR\); move what is in the way or fix permissions\.$/,
    );
    expect(statSync(join(dir, "calc")).isFile()).toBe(true);
    expect(readFileSync(join(dir, "calc"), "utf8")).toBe("not a directory\n");
    expect(readdirSync(dir)).toEqual(["calc"]);
  });
});
