/**
 * Several git commands in one child process of the server (src/executor/git-sequence.ts): the
 * same hardening and environment as git(), the arguments exactly as given, the first failing step
 * named, and, the reason it exists, one child of the server where git() starts one per command.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import { onChildStart } from "../../../src/executor/child-thread.js";
import { GitError, git } from "../../../src/executor/git.js";
import { gitSequence } from "../../../src/executor/git-sequence.js";
import { committedRepo, gitSandbox } from "./git-sandbox.js";

let scratch: string;
let repo: string;
let removeSandbox: () => void;
const savedPath = process.env.PATH;

function sh(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

beforeAll(() => {
  ({ dir: scratch, remove: removeSandbox } = gitSandbox("delegate-git-sequence-test-"));
  repo = committedRepo(path.join(scratch, "repo"), { "a.txt": "one\n" });
});

afterAll(() => removeSandbox());

afterEach(() => {
  process.env.PATH = savedPath;
});

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (err: unknown) => err,
  );
}

/** Child processes started (through child-thread.ts, the one place git's children start) while `fn` runs. */
async function childrenDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const started: string[] = [];
  const listener = (file: string) => started.push(file);
  onChildStart.add(listener);
  try {
    await fn();
  } finally {
    onChildStart.delete(listener);
  }
  return started;
}

const COMMIT = ["commit", "--quiet", "--no-verify", "--file=-"];

describe("gitSequence", () => {
  it("runs add, commit and show as one child of the server, where git() starts three", async () => {
    writeFileSync(path.join(repo, "one.txt"), "1\n");
    const steps = [
      { args: ["add", "--all"] },
      { args: COMMIT, stdin: true },
      { args: ["show", "--format=%s", "--name-only", "HEAD"] },
    ];
    let shown = "";
    const sequence = await childrenDuring(async () => {
      shown = (await gitSequence(repo, steps, { input: "one file\n" })).stdout;
    });
    expect(sequence).toHaveLength(1);
    expect(shown).toBe("one file\n\none.txt\n");

    writeFileSync(path.join(repo, "two.txt"), "2\n");
    const separate = await childrenDuring(async () => {
      await git(repo, ["add", "--all"]);
      await git(repo, COMMIT, { input: "two files\n" });
      await git(repo, ["show", "--format=%s", "--name-only", "HEAD"]);
    });
    expect(separate).toHaveLength(3);
  });

  it("answers with the last step's stdout and every step's exit code; earlier output goes to stderr", async () => {
    const out = await gitSequence(repo, [
      { args: ["commit", "--quiet", "-m", "nothing here"], okExitCodes: [0, 1] },
      { args: ["rev-parse", "HEAD"] },
    ]);
    expect(out.exitCodes).toEqual([1, 0]);
    expect(out.stdout).toBe(`${sh(repo, "rev-parse", "HEAD")}`);
    expect(out.stderr).toMatch(/nothing to commit/);
    expect(out.stderr).not.toContain("\x1f");
  });

  it("stops at the first step whose exit code it does not accept, and names that step", async () => {
    writeFileSync(path.join(repo, "not-added.txt"), "x\n");
    const err = await rejectionOf(
      gitSequence(repo, [
        { args: ["rev-parse", "--verify", "--quiet", "no-such-branch^{commit}"] },
        { args: ["add", "not-added.txt"] },
      ]),
    );
    expect(err).toBeInstanceOf(GitError);
    expect((err as GitError).args).toEqual(["rev-parse", "--verify", "--quiet", "no-such-branch^{commit}"]);
    expect((err as GitError).exitCode).toBe(1);
    // The step after it never ran.
    expect(sh(repo, "status", "--porcelain")).toContain("?? not-added.txt");

    const last = await rejectionOf(
      gitSequence(repo, [{ args: ["status"] }, { args: ["rev-parse", "--verify", "no-such-ref"] }]),
    );
    expect((last as GitError).args).toEqual(["rev-parse", "--verify", "no-such-ref"]);
    expect((last as GitError).exitCode).toBe(128);
  });

  it("passes every argument to git exactly: spaces, quotes, $, backticks, a newline", async () => {
    const names = ["it's here.txt", "$(touch pwned) `id`.txt", "two\nlines.txt", 'say "hi".txt'];
    for (const name of names) writeFileSync(path.join(repo, name), "odd\n");
    const out = await gitSequence(repo, [
      { args: ["add", "--", ...names] },
      { args: ["diff", "--cached", "--name-only", "-z"] },
    ]);
    expect(out.stdout.split("\0").filter(Boolean).sort()).toEqual([...names].sort());
    expect(existsSync(path.join(repo, "pwned"))).toBe(false);
    sh(repo, "reset", "-q");
  });

  it("keeps git()'s hardening: the repository's hooks never run", async () => {
    const hooks = path.join(scratch, "hooks");
    const marker = path.join(scratch, "hook-ran");
    mkdirSync(hooks);
    writeFileSync(path.join(hooks, "pre-commit"), `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
    sh(repo, "config", "core.hooksPath", hooks);
    try {
      writeFileSync(path.join(repo, "hooked.txt"), "h\n");
      await gitSequence(repo, [{ args: ["add", "hooked.txt"] }, { args: ["commit", "--quiet", "-m", "h"] }]);
      expect(existsSync(marker)).toBe(false);
      expect(sh(repo, "log", "-1", "--format=%s")).toBe("h\n");
    } finally {
      sh(repo, "config", "--unset", "core.hooksPath");
    }
  });

  it("refuses steps git() would refuse, before starting anything", () => {
    expect(() =>
      gitSequence(repo, [{ args: ["status"] }, { args: ["config", "core.hooksPath", "/x"] }]),
    ).toThrow(/must start with a git subcommand/);
    expect(() => gitSequence(repo, [{ args: ["add", "a\0b"] }])).toThrow(UserError);
  });

  it("says git is missing when it is not on PATH", async () => {
    process.env.PATH = path.join(scratch, "empty-path");
    const err = await rejectionOf(gitSequence(repo, [{ args: ["status"] }, { args: ["status"] }]));
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/git is not installed/);
  });

  it("ends the step that runs past the timeout, with everything it started, and says so", async () => {
    // A repository alias runs a shell command: it stands in for a git that hangs.
    const marker = `sleep ${30 + Math.floor(Math.random() * 1000) / 1000}`;
    sh(repo, "config", "alias.hang", `!${marker}`);
    try {
      const err = await rejectionOf(
        gitSequence(repo, [{ args: ["status"] }, { args: ["hang"] }], { timeoutMs: 500 }),
      );
      expect(err).toBeInstanceOf(GitError);
      expect((err as GitError).message).toMatch(/^git hang failed: timed out after 500 ms/);
      // The sequence answers once every process holding its pipes has ended: the sleep too.
      const left = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
      expect(left.split("\n").filter((l) => l.trim() === marker)).toEqual([]);
    } finally {
      sh(repo, "config", "--unset", "alias.hang");
    }
  });
});
