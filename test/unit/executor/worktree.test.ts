import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import { applyToWorkspace } from "../../../src/executor/apply.js";
import { changedFiles, commitAll, commitAndList, revertPaths } from "../../../src/executor/attempt-commit.js";
import { diff } from "../../../src/executor/diff.js";
import { gitRoot, headCommit, NotAGitRepoError } from "../../../src/executor/repo.js";
import {
  branchFor,
  createWorktree,
  listDelegateWorktrees,
  removeWorktree,
  type WorktreeInfo,
} from "../../../src/executor/worktree.js";
import { repairWorktrees } from "../../../src/executor/worktree-repair.js";
import { gitSandbox } from "./git-sandbox.js";

let scratch: string;
let removeSandbox: () => void;

beforeAll(() => {
  ({ dir: scratch, remove: removeSandbox } = gitSandbox("delegate-wt-test-"));
});

afterAll(() => removeSandbox());

/** Plain git, as the user would run it (hooks and all). */
function sh(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

let repoCount = 0;
function makeRepo(
  files: Record<string, string> = { "a.txt": "one\ntwo\nthree\n", "b.txt": "bee\n" },
): string {
  const repo = path.join(scratch, `repo-${++repoCount}`);
  mkdirSync(repo);
  sh(repo, "init", "-q");
  sh(repo, "symbolic-ref", "HEAD", "refs/heads/main");
  sh(repo, "config", "user.name", "Test User");
  sh(repo, "config", "user.email", "test@example.com");
  for (const [file, content] of Object.entries(files)) write(repo, file, content);
  sh(repo, "add", "-A");
  sh(repo, "commit", "-q", "-m", "initial");
  return repo;
}

function write(dir: string, file: string, content: string | Buffer): void {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), content);
}

function read(dir: string, file: string): string {
  return readFileSync(path.join(dir, file), "utf8");
}

const status = (repo: string) => sh(repo, "status", "--porcelain", "--untracked-files=all");
const head = (repo: string) => sh(repo, "rev-parse", "HEAD").trim();

/** Every file outside .git with its bytes' hash and mode: a byte-for-byte picture of the working tree. */
function treeSnapshot(dir: string, rel = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(path.join(dir, rel))) {
    if (rel === "" && entry === ".git") continue;
    const file = path.join(rel, entry);
    const st = lstatSync(path.join(dir, file));
    if (st.isDirectory()) Object.assign(out, treeSnapshot(dir, file));
    else
      out[file] = `${st.mode}:${createHash("sha256")
        .update(readFileSync(path.join(dir, file)))
        .digest("hex")}`;
  }
  return out;
}

async function expectUserError(promise: Promise<unknown>, pattern: RegExp): Promise<UserError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  expect((err as UserError).message).toMatch(pattern);
  return err as UserError;
}

describe("gitRoot, headCommit, branchFor", () => {
  it("finds the top level from a subdirectory, ignoring an inherited GIT_DIR", async () => {
    const repo = makeRepo({ "src/x.ts": "x\n" });
    const sha = head(repo);
    process.env.GIT_DIR = path.join(scratch, "nowhere");
    try {
      expect(await gitRoot(path.join(repo, "src"))).toBe(repo);
      expect(await headCommit(repo)).toBe(sha);
    } finally {
      delete process.env.GIT_DIR;
    }
  });

  it("throws NotAGitRepoError outside a repository, naming the directory and the fix", async () => {
    const dir = path.join(scratch, "plain");
    mkdirSync(dir);
    const err = await expectUserError(
      gitRoot(dir),
      /is not a git repository; dispatch needs git \(run git init/,
    );
    expect(err).toBeInstanceOf(NotAGitRepoError);
    expect(err.message).toContain(dir);
    await expect(createWorktree(dir, "proj/01-a", { attempt: 1 })).rejects.toBeInstanceOf(NotAGitRepoError);
    await expect(gitRoot(path.join(scratch, "missing"))).rejects.toBeInstanceOf(NotAGitRepoError);
  });

  it("explains that a repository without commits needs a first commit", async () => {
    const repo = path.join(scratch, "empty");
    mkdirSync(repo);
    sh(repo, "init", "-q");
    await expectUserError(headCommit(repo), /has no commits yet.*git commit/);
    await expectUserError(createWorktree(repo, "proj/01-a", { attempt: 1 }), /has no commits yet/);
  });

  it("maps a task id to its branch and refuses anything else", () => {
    expect(branchFor("proj/03-slug")).toBe("delegate/proj/03-slug");
    for (const bad of ["-x/01-a", "--upload-pack=evil/01-a", "proj/-01-a", "proj/01-a/../b", "proj", ""]) {
      expect(() => branchFor(bad)).toThrow(UserError);
    }
  });
});

describe("createWorktree", () => {
  it("puts the worktree under the git dir on delegate/<task>, leaving the user's tree and HEAD alone", async () => {
    const repo = makeRepo();
    const before = head(repo);
    const wt = await createWorktree(repo, "proj/03-slug", { attempt: 1 });

    expect(wt.path).toBe(path.join(repo, ".git", "delegate-worktrees", "proj", "03-slug-a1"));
    expect(wt.branch).toBe("delegate/proj/03-slug");
    expect(wt.base).toBe(before);
    expect(sh(wt.path, "rev-parse", "--abbrev-ref", "HEAD").trim()).toBe("delegate/proj/03-slug");
    expect(read(wt.path, "a.txt")).toBe("one\ntwo\nthree\n");

    write(wt.path, "a.txt", "changed\n");
    write(wt.path, "new.txt", "new\n");
    await commitAll(wt, "work");
    expect(status(repo)).toBe("");
    expect(head(repo)).toBe(before);
    expect(sh(repo, "rev-parse", "--abbrev-ref", "HEAD").trim()).toBe("main");
  });

  it("a second attempt replaces the first worktree and resets the branch to its base", async () => {
    const repo = makeRepo();
    const first = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    write(first.path, "first.txt", "from attempt 1\n");
    expect(await commitAll(first, "attempt 1")).not.toBeNull();

    const second = await createWorktree(repo, "proj/01-a", { attempt: 2 });
    expect(second.path.endsWith("01-a-a2")).toBe(true);
    expect(existsSync(first.path)).toBe(false);
    expect(existsSync(path.join(second.path, "first.txt"))).toBe(false);
    expect(sh(repo, "rev-parse", "delegate/proj/01-a").trim()).toBe(head(repo));
    const listed = await listDelegateWorktrees(repo);
    expect(listed.map((w) => w.path)).toEqual([second.path]);
  });

  it("a first attempt clears what is in its way: a worktree on its branch elsewhere, a record whose directory is gone", async () => {
    const repo = makeRepo();
    // The task's branch held by a worktree outside the attempt's own path (an earlier run's).
    const stray = await createWorktree(repo, "proj/01-a", { attempt: 3 });
    rmSync(stray.path, { recursive: true, force: true });
    expect((await listDelegateWorktrees(repo)).map((w) => w.prunable)).toEqual([true]);
    const wt = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    expect(read(wt.path, "a.txt")).toBe("one\ntwo\nthree\n");
    expect((await listDelegateWorktrees(repo)).map((w) => w.path)).toEqual([wt.path]);
  });

  it("a first attempt refuses a branch the user has checked out, naming where", async () => {
    const repo = makeRepo();
    sh(repo, "branch", "delegate/proj/01-a");
    sh(repo, "checkout", "-q", "delegate/proj/01-a");
    await expectUserError(createWorktree(repo, "proj/01-a", { attempt: 1 }), /checked out at/);
    expect(await listDelegateWorktrees(repo)).toEqual([]);
  });

  it("starts from a dependency's branch when given one", async () => {
    const repo = makeRepo();
    const dep = await createWorktree(repo, "proj/01-dep", { attempt: 1 });
    write(dep.path, "dep.txt", "made by the dependency\n");
    const depHead = await commitAll(dep, "dependency");

    const wt = await createWorktree(repo, "proj/02-next", { attempt: 1, fromBranch: dep.branch });
    expect(wt.base).toBe(depHead);
    expect(read(wt.path, "dep.txt")).toBe("made by the dependency\n");
    await expectUserError(
      createWorktree(repo, "proj/03-x", { attempt: 1, fromBranch: "delegate/proj/99-none" }),
      /does not exist/,
    );
  });

  it("refuses option-like names and bad attempts before running git", async () => {
    const repo = makeRepo();
    await expectUserError(createWorktree(repo, "-proj/01-a", { attempt: 1 }), /not a task id/);
    await expectUserError(
      createWorktree(repo, "proj/01-a", { attempt: 1, fromBranch: "-f" }),
      /starts with "-"/,
    );
    await expectUserError(
      createWorktree(repo, "proj/01-a", { attempt: 1, fromBranch: "--orphan=x" }),
      /starts with "-"/,
    );
    await expectUserError(
      createWorktree(repo, "proj/01-a", { attempt: 0 }),
      /attempt must be a positive integer/,
    );
    expect(sh(repo, "branch", "--list").trim()).toBe("* main");
  });
});

describe("commitAll, changedFiles, revertPaths", () => {
  it("lists modified, deleted, untracked and binary files against the base, without staging anything", async () => {
    const repo = makeRepo({ "a.txt": "one\ntwo\nthree\n", "b.txt": "bee\n", ".gitignore": "*.log\n" });
    const wt = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    write(wt.path, "a.txt", "one\nTWO\nthree\nfour\n");
    rmSync(path.join(wt.path, "b.txt"));
    write(wt.path, "dir/c.txt", "c1\nc2\n");
    write(wt.path, "img.bin", Buffer.from([0, 1, 2, 0, 255]));
    write(wt.path, "debug.log", "ignored\n");

    expect(await changedFiles(wt)).toEqual([
      { path: "a.txt", added: 2, removed: 1, status: "M" },
      { path: "b.txt", added: 0, removed: 1, status: "D" },
      { path: "dir/c.txt", added: 2, removed: 0, status: "?" },
      { path: "img.bin", added: -1, removed: -1, status: "?" },
    ]);
    // Read-only: the new files are still untracked in the worktree's own index.
    expect(sh(wt.path, "status", "--porcelain", "--untracked-files=all")).toContain("?? dir/c.txt");

    const sha = await commitAll(wt, "task: all changes");
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(sh(wt.path, "log", "-1", "--format=%an <%ae>|%cn|%s").trim()).toBe(
      "delegate-mcp <delegate-mcp@localhost>|delegate-mcp|task: all changes",
    );
    expect(sh(wt.path, "status", "--porcelain")).toBe("");
    const after = await changedFiles(wt);
    expect(after.find((f) => f.path === "dir/c.txt")?.status).toBe("A");
    expect(after.map((f) => f.path)).not.toContain("debug.log");
    expect(await commitAll(wt, "nothing new")).toBeNull();
  });

  it("commitAndList commits everything and lists the same counts as changedFiles, or nothing", async () => {
    const repo = makeRepo({ "a.txt": "one\ntwo\nthree\n", "b.txt": "bee\n", ".gitignore": "*.log\n" });
    const wt = await createWorktree(repo, "proj/02-b", { attempt: 1 });
    expect(await commitAndList(wt, "empty")).toEqual({ head: null, files: [] });
    write(wt.path, "a.txt", "one\nTWO\nthree\nfour\n");
    rmSync(path.join(wt.path, "b.txt"));
    write(wt.path, "dir/c.txt", "c1\nc2\n");
    write(wt.path, "dir/tab\there.txt", "t\n");
    write(wt.path, "debug.log", "ignored\n");
    const before = await changedFiles(wt);
    expect(before).toHaveLength(4);
    const { head, files } = await commitAndList(wt, "task: all changes");
    expect(head).toMatch(/^[0-9a-f]{40}$/);
    expect(files.map(({ path: p, added, removed }) => [p, added, removed])).toEqual(
      before.map(({ path: p, added, removed }) => [p, added, removed]),
    );
    expect(sh(wt.path, "status", "--porcelain")).toBe("");
    expect(sh(wt.path, "log", "-1", "--format=%an|%s").trim()).toBe("delegate-mcp|task: all changes");
    expect(sh(repo, "status", "--porcelain")).toBe("");
  });

  it("commitAndList lists against the base when the executor made commits of its own, and odd names", async () => {
    const repo = makeRepo({ "a.txt": "one\n" });
    const wt = await createWorktree(repo, "proj/03-c", { attempt: 1 });
    // A CLI executor (codex runs a shell) may commit by itself: base → its commit → ours.
    write(wt.path, "mine.txt", "m1\nm2\n");
    sh(wt.path, "add", "mine.txt");
    sh(wt.path, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "executor's own");
    write(wt.path, "a.txt", "one\ntwo\n");
    write(wt.path, "tab\there.txt", "t\n");
    const { head, files } = await commitAndList(wt, "task");
    expect(head).toBe(sh(wt.path, "rev-parse", "HEAD").trim());
    expect(files).toEqual([
      { path: "a.txt", added: 1, removed: 0 },
      { path: "mine.txt", added: 2, removed: 0 },
      { path: "tab\there.txt", added: 1, removed: 0 },
    ]);
    // Nothing new on top of a commit of the executor's own: HEAD is still not the base.
    expect(await commitAndList(wt, "again")).toEqual({ head, files });
  });

  it("reverts tracked paths to the base and deletes new ones, committed or not", async () => {
    const repo = makeRepo();
    const wt = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    write(wt.path, "a.txt", "scope creep\n");
    write(wt.path, "committed/new.txt", "new\n");
    await commitAll(wt, "first");
    rmSync(path.join(wt.path, "b.txt"));
    write(wt.path, "loose/deep/x.txt", "x\n");
    write(wt.path, "kept.txt", "in scope\n");

    await revertPaths(wt, ["a.txt", "b.txt", "committed/new.txt", "loose/deep/x.txt"]);
    expect(read(wt.path, "a.txt")).toBe("one\ntwo\nthree\n");
    expect(read(wt.path, "b.txt")).toBe("bee\n");
    expect(existsSync(path.join(wt.path, "committed"))).toBe(false);
    expect(existsSync(path.join(wt.path, "loose"))).toBe(false);
    expect(await changedFiles(wt)).toEqual([{ path: "kept.txt", added: 1, removed: 0, status: "?" }]);
    await commitAll(wt, "revert out-of-scope changes");
    expect((await diff(wt.path, wt.base, wt.branch)).stat).not.toContain("a.txt");
  });

  it("refuses paths git could read as options or that leave the worktree", async () => {
    const repo = makeRepo();
    const wt = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    // A leading "-" is fine here: revertPaths passes paths only after "--".
    for (const bad of ["../x", "/etc/passwd", ".git/config", "a/../../x", ""]) {
      await expectUserError(revertPaths(wt, [bad]), /./);
    }
  });

  it("does not delete through a symlink that points out of the worktree", async () => {
    const repo = makeRepo();
    const outside = path.join(scratch, "outside-target");
    write(outside, "victim.txt", "keep me\n");
    const wt = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    execFileSync("ln", ["-s", outside, path.join(wt.path, "link")]);
    await expectUserError(revertPaths(wt, ["link/victim.txt"]), /outside the worktree/);
    expect(read(outside, "victim.txt")).toBe("keep me\n");
  });
});

describe("diff", () => {
  it("returns the diff and stat, cut at a line end when over maxBytes", async () => {
    const repo = makeRepo();
    const wt = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    write(wt.path, "big.txt", `${Array.from({ length: 200 }, (_, i) => `line ${i} ✓`).join("\n")}\n`);
    await commitAll(wt, "big");

    const whole = await diff(repo, wt.base, wt.branch);
    expect(whole.truncated).toBe(false);
    expect(whole.diff).toContain("+line 199 ✓");
    expect(Buffer.byteLength(whole.diff)).toBe(whole.bytes);
    expect(whole.stat).toMatch(/big\.txt \| 200 \+/);

    const cut = await diff(repo, wt.base, wt.branch, { maxBytes: 500 });
    expect(cut.truncated).toBe(true);
    expect(cut.bytes).toBe(whole.bytes);
    expect(Buffer.byteLength(cut.diff)).toBeLessThanOrEqual(500);
    expect(cut.diff.endsWith("\n")).toBe(true);
    expect(whole.diff.startsWith(cut.diff)).toBe(true);
    expect(cut.stat).toBe(whole.stat);
  });

  it("refuses option-like revisions and unknown ones", async () => {
    const repo = makeRepo();
    const target = path.join(scratch, "written-by-git.txt");
    await expectUserError(diff(repo, `--output=${target}`, "HEAD"), /starts with "-"/);
    expect(existsSync(target)).toBe(false);
    await expectUserError(diff(repo, "HEAD", "no-such-branch"), /not a commit/);
  });
});

describe("applyToWorkspace", () => {
  async function taskWithChanges(repo: string, id = "proj/01-a") {
    const wt = await createWorktree(repo, id, { attempt: 1 });
    write(wt.path, "a.txt", "one\nTWO\nthree\n");
    rmSync(path.join(wt.path, "b.txt"));
    write(wt.path, "src/new.ts", "export const x = 1;\n");
    write(wt.path, "tool.sh", "#!/bin/sh\n");
    chmodSync(path.join(wt.path, "tool.sh"), 0o755);
    await commitAll(wt, "task");
    return wt;
  }

  it("applies the change as uncommitted edits, HEAD and index unchanged", async () => {
    const repo = makeRepo();
    const before = head(repo);
    const wt = await taskWithChanges(repo);

    const result = await applyToWorkspace(repo, wt, {});
    expect(result).toEqual({ applied: ["a.txt", "b.txt", "src/new.ts", "tool.sh"] });
    expect(head(repo)).toBe(before);
    expect(read(repo, "a.txt")).toBe("one\nTWO\nthree\n");
    expect(existsSync(path.join(repo, "b.txt"))).toBe(false);
    expect(read(repo, "src/new.ts")).toBe("export const x = 1;\n");
    expect(lstatSync(path.join(repo, "tool.sh")).mode & 0o111).not.toBe(0);
    expect(status(repo).split("\n").filter(Boolean).sort()).toEqual([
      " D b.txt",
      " M a.txt",
      "?? src/new.ts",
      "?? tool.sh",
    ]);
  });

  it("with commit:true makes exactly one commit of exactly the task's files", async () => {
    const repo = makeRepo({ "a.txt": "one\ntwo\nthree\n", "b.txt": "bee\n", "mine.txt": "mine\n" });
    const before = head(repo);
    const wt = await taskWithChanges(repo);
    write(repo, "mine.txt", "my staged work\n");
    sh(repo, "add", "mine.txt");

    const result = await applyToWorkspace(repo, wt, { commit: true, message: "proj/01-a: the task" });
    expect(result.commit).toBe(head(repo));
    expect(sh(repo, "rev-parse", "HEAD~1").trim()).toBe(before);
    expect(sh(repo, "log", "-1", "--format=%s|%an").trim()).toBe("proj/01-a: the task|Test User");
    expect(sh(repo, "show", "--name-only", "--format=", "HEAD").trim().split("\n").sort()).toEqual([
      "a.txt",
      "b.txt",
      "src/new.ts",
      "tool.sh",
    ]);
    // The user's own staged change is still staged and not in the commit.
    expect(status(repo)).toBe("M  mine.txt\n");
    expect(sh(repo, "rev-parse", "--abbrev-ref", "HEAD").trim()).toBe("main");
  });

  it("refuses a conflicting uncommitted change, naming the file and changing nothing", async () => {
    const repo = makeRepo();
    const wt = await taskWithChanges(repo);
    write(repo, "a.txt", "one\nmy own two\nthree\n");
    write(repo, "untracked.txt", "u\n");
    const before = treeSnapshot(repo);
    const statusBefore = status(repo);

    for (const commit of [false, true]) {
      const err = await expectUserError(applyToWorkspace(repo, wt, { commit }), /a\.txt/);
      expect(err.message).not.toMatch(/b\.txt|new\.ts/);
      expect(treeSnapshot(repo)).toEqual(before);
      expect(status(repo)).toBe(statusBefore);
    }
  });

  it("refuses when a new file of the task is already there, untracked", async () => {
    const repo = makeRepo();
    const wt = await taskWithChanges(repo);
    write(repo, "src/new.ts", "the user's own file\n");
    const before = treeSnapshot(repo);
    await expectUserError(applyToWorkspace(repo, wt, {}), /src\/new\.ts/);
    expect(treeSnapshot(repo)).toEqual(before);
  });

  it("merges into a file with unrelated uncommitted edits, but will not commit them", async () => {
    const repo = makeRepo({ "a.txt": "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "b.txt": "bee\n" });
    const wt = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    write(wt.path, "a.txt", "1\n2\n3\n4\n5\n6\n7\n8\nnine\n");
    await commitAll(wt, "task");
    write(repo, "a.txt", "one\n2\n3\n4\n5\n6\n7\n8\n9\n");

    await expectUserError(applyToWorkspace(repo, wt, { commit: true }), /uncommitted changes in a\.txt/);
    expect(read(repo, "a.txt")).toBe("one\n2\n3\n4\n5\n6\n7\n8\n9\n");
    expect(await applyToWorkspace(repo, wt, {})).toEqual({ applied: ["a.txt"] });
    expect(read(repo, "a.txt")).toBe("one\n2\n3\n4\n5\n6\n7\n8\nnine\n");
  });

  it("still applies after HEAD moved on with an unrelated commit, and refuses a conflicting one", async () => {
    const repo = makeRepo({ "a.txt": "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "b.txt": "bee\n" });
    const wt = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    write(wt.path, "a.txt", "1\n2\n3\n4\n5\n6\n7\n8\nnine\n");
    await commitAll(wt, "task");

    write(repo, "a.txt", "one\n2\n3\n4\n5\n6\n7\n8\n9\n");
    write(repo, "other.txt", "other\n");
    sh(repo, "add", "-A");
    sh(repo, "commit", "-q", "-m", "user moved on");
    const moved = head(repo);
    const result = await applyToWorkspace(repo, wt, { commit: true, message: "accept" });
    expect(read(repo, "a.txt")).toBe("one\n2\n3\n4\n5\n6\n7\n8\nnine\n");
    expect(sh(repo, "rev-parse", "HEAD~1").trim()).toBe(moved);
    expect(result.applied).toEqual(["a.txt"]);
    expect(status(repo)).toBe("");

    const conflicting = makeRepo({ "a.txt": "1\n2\n3\n", "b.txt": "bee\n" });
    const cwt = await createWorktree(conflicting, "proj/01-a", { attempt: 1 });
    write(cwt.path, "a.txt", "1\n2\nthree\n");
    await commitAll(cwt, "task");
    write(conflicting, "a.txt", "1\n2\nTHREE\n");
    sh(conflicting, "commit", "-q", "-am", "conflicting");
    const before = treeSnapshot(conflicting);
    await expectUserError(applyToWorkspace(conflicting, cwt, {}), /commits made since it started, in a\.txt/);
    expect(treeSnapshot(conflicting)).toEqual(before);
    expect(status(conflicting)).toBe("");
  });

  describe("a task built on another task's branch (depends_on)", () => {
    const MATH = "top\n1\n2\n3\n4\n5\n6\n7\nadd\n";
    const MATH_A = `${MATH}subtract\n`;
    const MATH_AB = `${MATH_A}negate\n`;

    /** Task A appends "subtract" and adds notes.txt; task B, started from A's branch, appends "negate". */
    async function dependentTasks(repo: string) {
      const a = await createWorktree(repo, "proj/01-a", { attempt: 1 });
      write(a.path, "math.txt", MATH_A);
      write(a.path, "notes.txt", "from A\n");
      await commitAll(a, "A");
      const b = await createWorktree(repo, "proj/02-b", { attempt: 1, fromBranch: a.branch });
      write(b.path, "math.txt", MATH_AB);
      await commitAll(b, "B");
      return { a, b };
    }

    /** What accept_task does: apply, then remove the worktree and branch. */
    async function accept(repo: string, wt: WorktreeInfo, opts: { commit?: boolean; message?: string }) {
      const result = await applyToWorkspace(repo, wt, opts);
      await removeWorktree(repo, wt.branch.slice("delegate/".length));
      return result;
    }

    it("after the dependency was accepted without commit, applies on top of it; HEAD unchanged", async () => {
      const repo = makeRepo({ "math.txt": MATH });
      const before = head(repo);
      const { a, b } = await dependentTasks(repo);

      expect(await accept(repo, a, {})).toEqual({ applied: ["math.txt", "notes.txt"] });
      expect(await accept(repo, b, {})).toEqual({ applied: ["math.txt"] });
      expect(read(repo, "math.txt")).toBe(MATH_AB);
      expect(read(repo, "notes.txt")).toBe("from A\n");
      expect(head(repo)).toBe(before);
      expect(status(repo)).toBe(" M math.txt\n?? notes.txt\n");
    });

    it("with commit:true commits its files as merged, the dependency's uncommitted part of them included", async () => {
      for (const stageDependency of [false, true]) {
        const repo = makeRepo({ "math.txt": MATH });
        const before = head(repo);
        const { a, b } = await dependentTasks(repo);
        await accept(repo, a, {});
        if (stageDependency) sh(repo, "add", "math.txt");

        const result = await accept(repo, b, { commit: true, message: "proj/02-b: negate" });
        expect(result).toEqual({ applied: ["math.txt"], commit: head(repo) });
        expect(sh(repo, "rev-parse", "HEAD~1").trim()).toBe(before);
        expect(sh(repo, "show", "--name-only", "--format=", "HEAD").trim()).toBe("math.txt");
        expect(sh(repo, "show", "HEAD:math.txt")).toBe(MATH_AB);
        expect(read(repo, "math.txt")).toBe(MATH_AB);
        const message = sh(repo, "log", "-1", "--format=%B");
        expect(message.split("\n")[0]).toBe("proj/02-b: negate");
        expect(message).toContain(
          "uncommitted changes that accepting the tasks it depends on left in math.txt",
        );
        // The dependency's other file stays as it was: uncommitted.
        expect(status(repo)).toBe("?? notes.txt\n");
      }
    });

    it("rolls the files and the index back when HEAD cannot be moved", async () => {
      const repo = makeRepo({ "math.txt": MATH });
      const before = head(repo);
      const { a, b } = await dependentTasks(repo);
      await accept(repo, a, {});
      sh(repo, "add", "math.txt");
      const files = treeSnapshot(repo);
      const index = sh(repo, "ls-files", "-s");
      const lock = path.join(repo, ".git", "refs", "heads", "main.lock");
      writeFileSync(lock, "");

      await expectUserError(applyToWorkspace(repo, b, { commit: true }), /nothing was changed, accept again/);
      expect(treeSnapshot(repo)).toEqual(files);
      expect(sh(repo, "ls-files", "-s")).toBe(index);
      expect(head(repo)).toBe(before);
      rmSync(lock);
      expect(status(repo)).toBe("M  math.txt\n?? notes.txt\n");
      await applyToWorkspace(repo, b, { commit: true });
      expect(sh(repo, "show", "HEAD:math.txt")).toBe(MATH_AB);
    });

    it("after the dependency was accepted with commit:true, applies and commits as usual", async () => {
      for (const commit of [false, true]) {
        const repo = makeRepo({ "math.txt": MATH });
        const { a, b } = await dependentTasks(repo);
        await accept(repo, a, { commit: true, message: "A" });
        const afterA = head(repo);
        expect(status(repo)).toBe("");

        expect(await accept(repo, b, { commit })).toMatchObject({ applied: ["math.txt"] });
        expect(read(repo, "math.txt")).toBe(MATH_AB);
        if (commit) {
          expect(sh(repo, "rev-parse", "HEAD~1").trim()).toBe(afterA);
          expect(sh(repo, "log", "-1", "--format=%B")).not.toContain("depends on");
          expect(status(repo)).toBe("");
        } else {
          expect(head(repo)).toBe(afterA);
          expect(status(repo)).toBe(" M math.txt\n");
        }
      }
    });

    it("merges next to the user's own edit elsewhere in the file, but will not commit that edit", async () => {
      const repo = makeRepo({ "math.txt": MATH });
      const before = head(repo);
      const { a, b } = await dependentTasks(repo);
      await accept(repo, a, {});
      write(repo, "math.txt", MATH_A.replace("top", "TOP"));
      const snapshot = treeSnapshot(repo);

      await expectUserError(applyToWorkspace(repo, b, { commit: true }), /uncommitted changes in math\.txt/);
      expect(treeSnapshot(repo)).toEqual(snapshot);
      expect(head(repo)).toBe(before);

      expect(await applyToWorkspace(repo, b, {})).toEqual({ applied: ["math.txt"] });
      expect(read(repo, "math.txt")).toBe(MATH_AB.replace("top", "TOP"));
      expect(head(repo)).toBe(before);
    });

    it("merges next to an unrelated user edit when the dependency is committed, but will not commit that edit", async () => {
      const repo = makeRepo({ "math.txt": MATH });
      const { a, b } = await dependentTasks(repo);
      await accept(repo, a, { commit: true, message: "A" });
      write(repo, "math.txt", MATH_A.replace("top", "TOP"));

      await expectUserError(applyToWorkspace(repo, b, { commit: true }), /uncommitted changes in math\.txt/);
      expect(await applyToWorkspace(repo, b, {})).toEqual({ applied: ["math.txt"] });
      expect(read(repo, "math.txt")).toBe(MATH_AB.replace("top", "TOP"));
    });

    it("refuses a conflicting edit on top of the accepted dependency, changing nothing", async () => {
      const repo = makeRepo({ "math.txt": MATH });
      const { a, b } = await dependentTasks(repo);
      await accept(repo, a, {});
      write(repo, "math.txt", `${MATH}my own subtract\n`);
      const snapshot = treeSnapshot(repo);
      for (const commit of [false, true]) {
        await expectUserError(
          applyToWorkspace(repo, b, { commit }),
          /Your uncommitted changes conflict with the task's changes in math\.txt/,
        );
        expect(treeSnapshot(repo)).toEqual(snapshot);
      }
    });

    it("when the dependency is not accepted, says to accept it first and changes nothing", async () => {
      const repo = makeRepo({ "math.txt": MATH });
      const { b } = await dependentTasks(repo);
      const snapshot = treeSnapshot(repo);
      await expectUserError(
        applyToWorkspace(repo, b, {}),
        /conflict with commits made since it started, in math\.txt; it was built on another task's changes: if that task is not accepted yet, accept it first/,
      );
      expect(treeSnapshot(repo)).toEqual(snapshot);
      expect(status(repo)).toBe("");
    });
  });

  it("refuses to write beyond a symbolic link in the user's tree", async () => {
    const repo = makeRepo();
    const wt = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    write(wt.path, "dir/x.txt", "x\n");
    await commitAll(wt, "task");
    const outside = path.join(scratch, `outside-${repoCount}`);
    mkdirSync(outside);
    execFileSync("ln", ["-s", outside, path.join(repo, "dir")]);
    await expectUserError(applyToWorkspace(repo, wt, {}), /dir\/x\.txt are beyond a symbolic link/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it("leaves a file alone that already has the task's content", async () => {
    const repo = makeRepo();
    const wt = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    write(wt.path, "a.txt", "one\nTWO\nthree\n");
    write(wt.path, "new.txt", "new\n");
    await commitAll(wt, "task");
    write(repo, "new.txt", "new\n");
    expect(await applyToWorkspace(repo, wt, {})).toEqual({ applied: ["a.txt"] });
    expect(status(repo)).toBe(" M a.txt\n?? new.txt\n");
  });

  it("returns nothing applied for a task without changes", async () => {
    const repo = makeRepo();
    const wt = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    expect(await applyToWorkspace(repo, wt, { commit: true })).toEqual({ applied: [] });
    expect(status(repo)).toBe("");
  });
});

describe("removeWorktree, listDelegateWorktrees, repairWorktrees", () => {
  it("removes every attempt and the branch, idempotently, leaving git worktree list clean", async () => {
    const repo = makeRepo();
    const wt = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    write(wt.path, "x.txt", "uncommitted work\n");
    await createWorktree(repo, "proj/02-b", { attempt: 1 });

    await removeWorktree(repo, "proj/01-a");
    await removeWorktree(repo, "proj/01-a");
    await removeWorktree(repo, "proj/07-never");
    expect(existsSync(wt.path)).toBe(false);
    expect(sh(repo, "branch", "--list", "delegate/proj/01-a").trim()).toBe("");
    expect((await listDelegateWorktrees(repo)).map((w) => w.branch)).toEqual(["delegate/proj/02-b"]);

    await removeWorktree(repo, "proj/02-b");
    expect(sh(repo, "worktree", "list", "--porcelain").match(/^worktree /gm)).toHaveLength(1);
    expect(sh(repo, "branch", "--list").trim()).toBe("* main");
    expect(readdirSync(path.join(repo, ".git", "delegate-worktrees"))).toEqual([]);
    expect(status(repo)).toBe("");
  });

  it("creates, commits and removes worktrees of several tasks in parallel", async () => {
    const repo = makeRepo();
    const ids = ["p1/01-a", "p1/02-b", "p1/03-c", "p2/01-a", "p2/02-b", "p2/03-c"];
    const wts = await Promise.all(ids.map((id) => createWorktree(repo, id, { attempt: 1 })));
    expect(new Set(wts.map((w) => w.path)).size).toBe(ids.length);
    await Promise.all(
      wts.map(async (wt, i) => {
        write(wt.path, `file-${i}.txt`, `${i}\n`);
        expect(await commitAll(wt, `task ${i}`)).not.toBeNull();
        expect((await changedFiles(wt)).map((f) => f.path)).toEqual([`file-${i}.txt`]);
      }),
    );
    expect(await listDelegateWorktrees(repo)).toHaveLength(ids.length);
    await Promise.all(ids.map((id) => removeWorktree(repo, id)));
    expect(await listDelegateWorktrees(repo)).toEqual([]);
    expect(sh(repo, "branch", "--list").trim()).toBe("* main");
  });

  it("will not delete a delegate branch the user has checked out", async () => {
    const repo = makeRepo();
    await createWorktree(repo, "proj/01-a", { attempt: 1 });
    await removeWorktree(repo, "proj/01-a");
    sh(repo, "branch", "delegate/proj/01-a");
    sh(repo, "checkout", "-q", "delegate/proj/01-a");
    await expectUserError(removeWorktree(repo, "proj/01-a"), /checked out at/);
    expect(sh(repo, "rev-parse", "--abbrev-ref", "HEAD").trim()).toBe("delegate/proj/01-a");
  });

  it("repairs what a crash leaves: missing worktree directories, stale index.lock, unknown directories", async () => {
    const repo = makeRepo();
    const gone = await createWorktree(repo, "proj/01-gone", { attempt: 1 });
    const locked = await createWorktree(repo, "proj/02-locked", { attempt: 1 });
    const busy = await createWorktree(repo, "proj/03-busy", { attempt: 1 });
    rmSync(gone.path, { recursive: true, force: true });
    const old = new Date(Date.now() - 3600_000);
    const staleLock = path.join(repo, ".git", "worktrees", "02-locked-a1", "index.lock");
    writeFileSync(staleLock, "");
    utimesSync(staleLock, old, old);
    const freshLock = path.join(repo, ".git", "worktrees", "03-busy-a1", "index.lock");
    writeFileSync(freshLock, "");
    const orphan = path.join(repo, ".git", "delegate-worktrees", "proj", "09-orphan-a1");
    write(orphan, "f.txt", "left behind\n");
    utimesSync(orphan, old, old);

    expect((await listDelegateWorktrees(repo)).find((w) => w.path === gone.path)?.prunable).toBe(true);
    const done = await repairWorktrees(repo);
    expect(done).toHaveLength(3);
    expect(done.join("\n")).toContain(gone.path);
    expect(done.join("\n")).toContain(staleLock);
    expect(done.join("\n")).toContain(orphan);
    expect(existsSync(staleLock)).toBe(false);
    expect(existsSync(freshLock)).toBe(true);
    expect(existsSync(orphan)).toBe(false);
    expect((await listDelegateWorktrees(repo)).map((w) => w.path).sort()).toEqual(
      [busy.path, locked.path].sort(),
    );
    expect(await repairWorktrees(repo, { staleAgeMs: 3600_000 * 2 })).toEqual([]);

    rmSync(freshLock);
    write(locked.path, "a.txt", "still works\n");
    expect(await commitAll(locked, "after repair")).not.toBeNull();
  });

  it("leaves the user's own worktrees alone", async () => {
    const repo = makeRepo();
    const own = path.join(scratch, `own-worktree-${repoCount}`);
    sh(repo, "worktree", "add", "-q", "-b", "feature", own);
    rmSync(own, { recursive: true, force: true });
    expect(await repairWorktrees(repo)).toEqual([]);
    expect(sh(repo, "worktree", "list", "--porcelain")).toContain(own);
  });
});

describe("hooks and fsmonitor never run", () => {
  it("creates, commits, applies with commit and removes without running any configured command", async () => {
    const repo = makeRepo();
    const markers = path.join(scratch, `markers-${repoCount}`);
    mkdirSync(markers);
    const script = (name: string) => {
      const file = path.join(scratch, `hook-${repoCount}-${name}`);
      writeFileSync(file, `#!/bin/sh\ntouch "${path.join(markers, name)}"\n`);
      chmodSync(file, 0o755);
      return file;
    };
    sh(repo, "config", "core.fsmonitor", script("fsmonitor"));
    const hooks = path.join(repo, ".git", "hooks");
    mkdirSync(hooks, { recursive: true });
    for (const hook of [
      "pre-commit",
      "commit-msg",
      "post-commit",
      "post-checkout",
      "post-merge",
      "reference-transaction",
    ]) {
      writeFileSync(path.join(hooks, hook), `#!/bin/sh\ntouch "${path.join(markers, hook)}"\n`);
      chmodSync(path.join(hooks, hook), 0o755);
    }
    write(repo, ".gitattributes", "*.txt diff=marker\n");
    sh(repo, "config", "diff.marker.textconv", script("textconv"));
    sh(repo, "config", "diff.external", script("external-diff"));
    sh(repo, "add", ".gitattributes");

    // The setup is live: plain git runs these commands.
    sh(repo, "commit", "-q", "-m", "attributes");
    sh(repo, "status", "--porcelain");
    sh(repo, "diff", "HEAD~1", "HEAD");
    expect(readdirSync(markers).sort()).toEqual(
      expect.arrayContaining([
        "external-diff",
        "fsmonitor",
        "pre-commit",
        "post-commit",
        "reference-transaction",
      ]),
    );
    rmSync(markers, { recursive: true });
    mkdirSync(markers);

    const wt = await createWorktree(repo, "proj/01-a", { attempt: 1 });
    write(wt.path, "a.txt", "changed by the task\n");
    await commitAll(wt, "task");
    await changedFiles(wt);
    await diff(repo, wt.base, wt.branch);
    await revertPaths(wt, ["b.txt"]);
    await applyToWorkspace(repo, wt, { commit: true, message: "accept" });
    await createWorktree(repo, "proj/01-a", { attempt: 2 });
    await removeWorktree(repo, "proj/01-a");
    await repairWorktrees(repo);

    expect(readdirSync(markers)).toEqual([]);
    expect(read(repo, "a.txt")).toBe("changed by the task\n");
  });
});
