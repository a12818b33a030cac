/**
 * The git runner: simple-git with every hardening flag, our own argv check where simple-git 4.0.2
 * can only open whole categories, and the three jobs it cannot do (bounded output, empty stdin,
 * a command that prints nothing without a fixed wait), each shown here against simple-git itself.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { simpleGit } from "simple-git";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import { GitError, git, printsAnswer } from "../../../src/executor/git.js";
import { committedRepo, gitSandbox } from "./git-sandbox.js";

let scratch: string;
let repo: string;
let removeSandbox: () => void;
const savedPath = process.env.PATH;

function sh(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

beforeAll(() => {
  ({ dir: scratch, remove: removeSandbox } = gitSandbox("delegate-git-test-"));
  repo = committedRepo(path.join(scratch, "repo"), { "a.txt": "one\n" });
});

afterAll(() => removeSandbox());

/** A hooks directory whose pre-commit hook leaves a marker file when it runs. */
function evilHooks(name: string): { dir: string; marker: string } {
  const dir = path.join(scratch, `hooks-${name}`);
  const marker = path.join(scratch, `ran-${name}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, "pre-commit"), `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
  return { dir, marker };
}

/** A 200,000-byte blob in the repository's object store. */
function bigBlob(): string {
  writeFileSync(path.join(scratch, "big.txt"), `${"x".repeat(99)}\n`.repeat(2000));
  return sh(repo, "hash-object", "-w", path.join(scratch, "big.txt")).trim();
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (err: unknown) => err,
  );
}

describe("git()", () => {
  it("answers with the exit code when the caller says it is an answer, and throws GitError otherwise", async () => {
    const missing = await git(repo, ["rev-parse", "--verify", "--quiet", "nope^{commit}"], {
      okExitCodes: [0, 1],
    });
    expect(missing.exitCode).toBe(1);
    expect(missing.stdout).toBe("");
    const err = await rejectionOf(git(repo, ["rev-parse", "--verify", "--quiet", "nope^{commit}"]));
    expect(err).toBeInstanceOf(GitError);
    expect((err as GitError).exitCode).toBe(1);
  });

  it("writes input to stdin, and sets per-call environment after dropping inherited GIT_* variables", async () => {
    const blob = await git(repo, ["hash-object", "--stdin"], { input: "hello\n" });
    expect(blob.stdout.trim()).toBe("ce013625030ba8dba906f756967f9e9ca394464a");
    process.env.GIT_DIR = path.join(scratch, "no-such-git-dir");
    process.env.GIT_INDEX_FILE = path.join(scratch, "no-such-index");
    process.env.EDITOR = "false";
    try {
      const top = await git(repo, ["rev-parse", "--show-toplevel"]);
      expect(top.stdout.trim()).toBe(repo);
      const index = path.join(scratch, "scratch-index");
      await git(repo, ["read-tree", "HEAD"], { env: { GIT_INDEX_FILE: index } });
      expect(existsSync(index)).toBe(true);
    } finally {
      delete process.env.GIT_DIR;
      delete process.env.GIT_INDEX_FILE;
      delete process.env.EDITOR;
    }
  });

  it("never runs the repository's hooks, while a plain git commit does", async () => {
    const { dir, marker } = evilHooks("config");
    sh(repo, "config", "core.hooksPath", dir);
    try {
      writeFileSync(path.join(repo, "b.txt"), "bee\n");
      await git(repo, ["add", "b.txt"]);
      await git(repo, ["commit", "--quiet", "--file=-"], { input: "b\n" });
      expect(existsSync(marker)).toBe(false);
      writeFileSync(path.join(repo, "c.txt"), "sea\n");
      sh(repo, "add", "c.txt");
      sh(repo, "commit", "-q", "-m", "c");
      expect(existsSync(marker)).toBe(true);
    } finally {
      sh(repo, "config", "--unset", "core.hooksPath");
    }
  });

  it("refuses a call that does not start with a subcommand, or that writes config", async () => {
    const { dir, marker } = evilHooks("argv");
    for (const args of [
      ["-c", `core.hooksPath=${dir}`, "commit", "--allow-empty", "-m", "x"],
      ["--config-env=core.hooksPath=HOME", "status"],
      ["--exec-path=/tmp", "status"],
      ["config", "core.hooksPath", dir],
      [],
    ]) {
      expect(() => git(repo, args), args.join(" ")).toThrow(/must start with a git subcommand/);
    }
    expect(existsSync(marker)).toBe(false);
    expect(sh(repo, "config", "--list").toLowerCase()).not.toContain("core.hookspath");
  });

  it("says git is missing when it is not on PATH", async () => {
    process.env.PATH = path.join(scratch, "empty-path");
    try {
      const err = await rejectionOf(git(repo, ["status"]));
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(/git is not installed/);
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it("keeps the first maxStdoutBytes of a large output and counts the rest", async () => {
    const blob = bigBlob();
    const out = await git(repo, ["cat-file", "blob", blob], { maxStdoutBytes: 1000 });
    expect(out.raw.length).toBe(1000);
    expect(out.stdoutBytes).toBe(200_000);
  });

  it("keeps simple-git for the queries that always print, and runs every other call direct", () => {
    for (const args of [
      ["rev-parse", "HEAD"],
      ["write-tree"],
      ["hash-object", "-w", "a.txt"],
      ["worktree", "list", "--porcelain"],
      ["merge-base", "a", "b"],
    ])
      expect(printsAnswer(args), args.join(" ")).toBe(true);
    for (const args of [
      ["add", "--all"],
      ["commit", "--quiet"],
      ["apply", "--whitespace=nowarn"],
      ["diff", "--binary"],
      ["worktree", "add", "--quiet"],
      ["merge-base", "--is-ancestor", "a", "b"],
      ["rev-parse", "--verify", "--quiet", "nope"],
      ["status", "--porcelain"],
    ])
      expect(printsAnswer(args), args.join(" ")).toBe(false);
  });

  it("runs a command that prints nothing with the same hardening: no hook runs, the ref is written", async () => {
    const { dir, marker } = evilHooks("direct");
    sh(repo, "config", "core.hooksPath", dir);
    try {
      await git(repo, ["commit", "--allow-empty", "--quiet", "-m", "quiet"]);
      expect(existsSync(marker)).toBe(false);
      expect(sh(repo, "log", "-1", "--format=%s").trim()).toBe("quiet");
    } finally {
      sh(repo, "config", "--unset", "core.hooksPath");
    }
  });

  it("gives git an empty stdin when the input is empty", async () => {
    const out = await git(repo, ["hash-object", "--stdin"], { input: "" });
    expect(out.stdout.trim()).toBe("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  });
});

describe("what simple-git 4.0.2 cannot do alone (why git.ts checks argv and keeps a direct child process)", () => {
  it("its guard refuses our own hardening flags unless their whole categories are opened", async () => {
    const strict = simpleGit({ baseDir: repo });
    const err = await rejectionOf(strict.raw(["-c", "core.hooksPath=/dev/null", "status"]));
    expect(String(err)).toMatch(/hooksPath/i);
  });

  it("once the hooksPath category is opened, it lets any hooks path through", async () => {
    const { dir, marker } = evilHooks("opened");
    const opened = simpleGit({ baseDir: repo, unsafe: { allowUnsafeHooksPath: true } });
    await opened.raw(["-c", `core.hooksPath=${dir}`, "commit", "--allow-empty", "-q", "-m", "hooked"]);
    // The hook ran: this is what git.ts's own subcommand check exists to prevent.
    expect(existsSync(marker)).toBe(true);
  });

  it("waits a fixed 50 ms after a command that printed nothing, however fast git was", async () => {
    // A lower bound only: a timer set for 50 ms never fires sooner, so this cannot flake. It is
    // why git() runs such commands (add, commit, apply, update-ref, …) on its own child process.
    const client = simpleGit({ baseDir: repo });
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const out = await client.raw(["update-ref", `refs/heads/quiet-${i}`, "HEAD"]);
      expect(out).toBe("");
      expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    }
  });

  it("returns every byte of an output: no option keeps only the first part", async () => {
    const blob = bigBlob();
    const all = await simpleGit({ baseDir: repo }).raw(["cat-file", "blob", blob]);
    expect(all.length).toBe(200_000);
  });
});
