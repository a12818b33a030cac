import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import { protectedReason, safePath } from "../../../src/store/safe-path.js";

// base/repo is the workspace; base/repo-evil and base/outside sit next to it.
let base: string;
let root: string;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), "safe-path-")));
  root = join(base, "repo");
  await mkdir(join(root, "src", "deep"), { recursive: true });
  await mkdir(join(base, "repo-evil"), { recursive: true });
  await mkdir(join(base, "outside"), { recursive: true });
  await writeFile(join(root, "src", "a.ts"), "a\n");
  await writeFile(join(base, "repo-evil", "f"), "evil\n");
  await writeFile(join(base, "outside", "secret"), "secret\n");
  // Symlinks pointing out of the workspace.
  await symlink(join(base, "outside", "secret"), join(root, "file-out"));
  await symlink(join(base, "outside"), join(root, "dir-out"));
  await symlink("../../outside", join(root, "src", "rel-dir-out"));
  await symlink(join(base, "outside", "not-yet"), join(root, "dangling-out"));
  // Symlinks that stay inside.
  await symlink("src", join(root, "src-link"));
  await symlink("src-link/a.ts", join(root, "chain")); // chain → src-link/a.ts → src/a.ts
  await symlink("src/new.ts", join(root, "dangling-in"));
  // Inside → inside link to a dir whose own link leads outside.
  await symlink("src", join(root, "via"));
  await symlink(join(base, "outside"), join(root, "src", "deep", "out"));
  // A loop.
  await symlink("loop-b", join(root, "loop-a"));
  await symlink("loop-a", join(root, "loop-b"));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function refusal(path: string): Promise<UserError> {
  const err = await safePath(root, path, "files_to_modify[0].path").then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${JSON.stringify(path)} should be refused`).toBeInstanceOf(UserError);
  const u = err as UserError;
  expect(u.field).toBe("files_to_modify[0].path");
  expect(u.message.startsWith("files_to_modify[0].path ")).toBe(true);
  expect(u.message).toContain(" is refused: ");
  return u;
}

describe("safePath refuses", () => {
  it.each([
    ["../x", "escapes the workspace"],
    ["a/../../x", "escapes the workspace"],
    ["src/../../repo-evil/f", "escapes the workspace"],
    ["../repo-evil/f", "escapes the workspace"],
    ["..", "escapes the workspace"],
  ])("the escape %j, saying why", async (path, reason) => {
    const err = await refusal(path);
    expect(err.message).toContain(`"${path}"`);
    expect(err.message).toContain(reason);
  });

  it("/etc/passwd and the sibling-prefix path as absolute paths outside the workspace", async () => {
    for (const path of ["/etc/passwd", join(base, "repo-evil", "f"), `${root}-evil/f`, base]) {
      const err = await refusal(path);
      expect(err.message).toContain(`"${path}"`);
      expect(err.message).toContain("absolute path outside the workspace");
    }
  });

  it.each([
    ["a\0b", "NUL byte"],
    ["~", "home-directory"],
    ["~/x", "home-directory"],
    ["~root/x", "home-directory"],
    ["C:\\x", "Windows-style"],
    ["C:/x", "Windows-style"],
    ["a\\b", "Windows-style"],
    ["src/a.ts ", "whitespace"],
    [" src/a.ts", "whitespace"],
    ['src/a.ts"', "quote"],
    ["src/a.ts'", "quote"],
    ["'src/a.ts'", "quote"],
    ["src/a\n.ts", "control character"],
    ["", "empty"],
  ])("the malformed path %j, saying why", async (path, reason) => {
    const err = await refusal(path);
    expect(err.message).toContain(reason);
  });

  it("names a NUL byte visibly instead of embedding it", async () => {
    const err = await refusal("a\0b");
    expect(err.message).toContain('"a\\0b"');
    expect(err.message).not.toContain("\0");
  });

  it.each([
    ["file-out", "file-out"],
    ["dir-out/secret", "dir-out"],
    ["dir-out", "dir-out"],
    ["src/rel-dir-out/secret", "src/rel-dir-out"],
    ["via/deep/out/secret", "src/deep/out"],
    ["src-link/deep/out/secret", "src/deep/out"],
    ["dangling-out", "dangling-out"],
  ])("the symlink to outside %j, naming the link", async (path, link) => {
    const err = await refusal(path);
    expect(err.message).toContain(`"${path}"`);
    expect(err.message).toContain(`symlink (via ${link})`);
    expect(err.message).toContain("outside the workspace");
  });

  it("a dangling symlink to outside given as an absolute path inside the workspace", async () => {
    const err = await refusal(join(root, "dangling-out"));
    expect(err.message).toContain("outside the workspace");
  });

  it("a symlink loop", async () => {
    expect((await refusal("loop-a")).message).toContain("too many levels of symbolic links");
  });
});

describe("safePath accepts", () => {
  it("plain relative paths, normalizing them", async () => {
    expect(await safePath(root, "src/a.ts")).toEqual({ abs: join(root, "src", "a.ts"), rel: "src/a.ts" });
    expect(await safePath(root, "./src/deep/../a.ts")).toEqual({
      abs: join(root, "src", "a.ts"),
      rel: "src/a.ts",
    });
  });

  it("an absolute path inside the workspace", async () => {
    expect(await safePath(root, join(root, "src", "a.ts"))).toEqual({
      abs: join(root, "src", "a.ts"),
      rel: "src/a.ts",
    });
  });

  it("a chain of symlinks that stays inside, resolved to the real file", async () => {
    expect(await safePath(root, "chain")).toEqual({ abs: join(root, "src", "a.ts"), rel: "src/a.ts" });
    expect(await safePath(root, "src-link/deep")).toEqual({
      abs: join(root, "src", "deep"),
      rel: "src/deep",
    });
  });

  it("a dangling symlink pointing inside, resolved to its target", async () => {
    expect(await safePath(root, "dangling-in")).toEqual({
      abs: join(root, "src", "new.ts"),
      rel: "src/new.ts",
    });
  });

  it("a path through directories that do not exist yet", async () => {
    expect(await safePath(root, "new/dir/file.ts")).toEqual({
      abs: join(root, "new", "dir", "file.ts"),
      rel: "new/dir/file.ts",
    });
    expect(await safePath(root, "src/a.ts/x")).toEqual({
      abs: join(root, "src", "a.ts", "x"),
      rel: "src/a.ts/x",
    });
  });

  it("names with dots that are not escapes", async () => {
    expect((await safePath(root, "..foo")).rel).toBe("..foo");
    expect((await safePath(root, "src/...")).rel).toBe("src/...");
  });
});

describe("protectedReason", () => {
  it.each([
    ".git/config",
    ".git",
    "sub/.git",
    "sub/.git/hooks/pre-commit",
    ".GIT/config",
    ".gitattributes",
    "src/.gitattributes",
    ".gitmodules",
    ".mcp.json",
    ".claude/settings.json",
    ".claude",
    "delegate.config.json",
    "mini-projects/ledger.jsonl",
    "mini-projects/p/01-x.json",
    "mini-projects",
    "./.git/config",
  ])("refuses %j with a reason", (rel) => {
    expect(protectedReason(rel, "mini-projects")).toMatch(/never/);
  });

  it.each([
    "src/a.ts",
    ".github/workflows/ci.yml",
    "gitconfig.ts",
    "mini-projects-notes.md",
    "docs/.gitkeep",
  ])("allows %j", (rel) => {
    expect(protectedReason(rel, "mini-projects")).toBeNull();
  });

  it("follows DELEGATE_DIR", () => {
    expect(protectedReason("tasks/ledger.jsonl", "tasks/")).toMatch(/never/);
    expect(protectedReason("mini-projects/ledger.jsonl", "tasks")).toBeNull();
  });
});
