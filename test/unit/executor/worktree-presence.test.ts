/**
 * Start-up repair runs git only where there may be delegate worktree state: the file-system check
 * that decides it, and recoverOnce on a fresh repository (no git at all) against one with a stale
 * worktree record (git runs and repairs it). Git calls are counted by a `git` on PATH that logs
 * each call and runs the real one.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorktree, listDelegateWorktrees } from "../../../src/executor/worktree.js";
import { mayHoldDelegateWorktrees, WORKTREES_DIR } from "../../../src/executor/worktree-presence.js";
import { recoverOnce } from "../../../src/startup-recovery.js";
import { TaskStore } from "../../../src/store/tasks.js";
import { resolveWorkspace } from "../../../src/store/workspace.js";
import { committedRepo, gitSandbox } from "./git-sandbox.js";

let scratch: string;
let removeSandbox: () => void;

beforeAll(() => {
  ({ dir: scratch, remove: removeSandbox } = gitSandbox("delegate-presence-test-"));
});
afterAll(() => removeSandbox());

function sh(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

let count = 0;
const makeRepo = () => committedRepo(path.join(scratch, `repo-${++count}`), { "src/a.txt": "one\n" });

/** A `git` first on PATH that appends its arguments to a log, then runs the real git. */
function countingGit(): { calls: () => string[]; restore: () => void } {
  const bin = path.join(scratch, `bin-${++count}`);
  const log = path.join(bin, "calls.log");
  mkdirSync(bin);
  const real = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
  writeFileSync(log, "");
  writeFileSync(path.join(bin, "git"), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real}' "$@"\n`);
  chmodSync(path.join(bin, "git"), 0o755);
  const saved = process.env.PATH;
  process.env.PATH = `${bin}${path.delimiter}${saved}`;
  return {
    calls: () => readFileSync(log, "utf8").split("\n").filter(Boolean),
    restore: () => {
      process.env.PATH = saved;
    },
  };
}

async function storeAt(root: string): Promise<TaskStore> {
  return new TaskStore(await resolveWorkspace({ flag: root, env: {}, cwd: root }));
}

describe("mayHoldDelegateWorktrees", () => {
  it("is false for a repository that never had a delegate worktree, from its root or below", async () => {
    const repo = makeRepo();
    expect(await mayHoldDelegateWorktrees(repo)).toBe(false);
    expect(await mayHoldDelegateWorktrees(path.join(repo, "src"))).toBe(false);
  });

  it("is false outside any repository", async () => {
    const dir = path.join(scratch, `plain-${++count}`);
    mkdirSync(dir);
    expect(await mayHoldDelegateWorktrees(dir)).toBe(false);
  });

  it("is true once a delegate worktree exists", async () => {
    const repo = makeRepo();
    await createWorktree(repo, "proj/01-one", { attempt: 1 });
    expect(await mayHoldDelegateWorktrees(path.join(repo, "src"))).toBe(true);
  });

  it("is true when only git's record is left (the worktree directories deleted by hand)", async () => {
    const repo = makeRepo();
    await createWorktree(repo, "proj/01-one", { attempt: 1 });
    rmSync(path.join(repo, ".git", WORKTREES_DIR), { recursive: true, force: true });
    expect(await mayHoldDelegateWorktrees(repo)).toBe(true);
  });

  it("is false for the user's own linked worktree records, true inside a linked worktree (unsure)", async () => {
    const repo = makeRepo();
    const mine = path.join(scratch, `mine-${++count}`);
    sh(repo, "worktree", "add", "-q", "-b", "mine", mine);
    expect(await mayHoldDelegateWorktrees(repo)).toBe(false);
    // There `.git` is a file: the check does not follow it and lets git decide.
    expect(await mayHoldDelegateWorktrees(mine)).toBe(true);
  });
});

describe("recoverOnce", () => {
  it("runs no git on a fresh repository", async () => {
    const repo = makeRepo();
    const git = countingGit();
    try {
      await recoverOnce(await storeAt(repo));
      expect(git.calls()).toEqual([]);
    } finally {
      git.restore();
    }
  });

  it("runs git and removes a stale record when a delegate worktree's directory is gone", async () => {
    const repo = makeRepo();
    const wt = await createWorktree(repo, "proj/01-one", { attempt: 1 });
    rmSync(wt.path, { recursive: true, force: true });
    expect((await listDelegateWorktrees(repo)).map((w) => w.prunable)).toEqual([true]);
    const git = countingGit();
    try {
      await recoverOnce(await storeAt(repo));
      expect(git.calls().some((c) => c.includes("worktree"))).toBe(true);
    } finally {
      git.restore();
    }
    expect(await listDelegateWorktrees(repo)).toEqual([]);
  });
});
