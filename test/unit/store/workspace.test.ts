import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import { firstFileRoot, resolveWorkspace } from "../../../src/store/workspace.js";

let base: string;
const dirs: Record<"flag" | "env" | "roots" | "cwd", string> = { flag: "", env: "", roots: "", cwd: "" };

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), "workspace-")));
  for (const k of Object.keys(dirs) as (keyof typeof dirs)[]) {
    dirs[k] = join(base, k);
    await mkdir(dirs[k]);
  }
  await writeFile(join(base, "file.txt"), "x");
  await symlink(dirs.flag, join(base, "link"));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const roots =
  (...paths: string[]) =>
  async () =>
    paths;
const uri = (p: string) => pathToFileURL(p).href;

describe("resolveWorkspace", () => {
  it("prefers --root over DELEGATE_ROOT, roots and cwd", async () => {
    const ws = await resolveWorkspace({
      flag: dirs.flag,
      env: { DELEGATE_ROOT: dirs.env },
      listRoots: roots(uri(dirs.roots)),
      cwd: dirs.cwd,
    });
    expect(ws).toEqual({
      root: dirs.flag,
      dirRel: "mini-projects",
      dir: join(dirs.flag, "mini-projects"),
      source: "flag",
    });
  });

  it("uses DELEGATE_ROOT without a flag, and never asks for roots then", async () => {
    let asked = false;
    const ws = await resolveWorkspace({
      env: { DELEGATE_ROOT: dirs.env },
      listRoots: async () => {
        asked = true;
        return [uri(dirs.roots)];
      },
      cwd: dirs.cwd,
    });
    expect(ws).toMatchObject({ root: dirs.env, source: "env" });
    expect(asked).toBe(false);
  });

  it("uses the client's first file:// root without flag or env", async () => {
    const ws = await resolveWorkspace({
      env: {},
      listRoots: roots("https://example.com/x", uri(dirs.roots), uri(dirs.cwd)),
      cwd: dirs.cwd,
    });
    expect(ws).toMatchObject({ root: dirs.roots, source: "roots" });
  });

  it("falls back to cwd when the client has no roots, no file:// root, or fails to answer", async () => {
    for (const listRoots of [
      async () => undefined,
      roots(),
      roots("https://example.com/x"),
      async (): Promise<string[]> => {
        throw new Error("Method not found");
      },
    ]) {
      expect(await resolveWorkspace({ env: {}, listRoots, cwd: dirs.cwd })).toMatchObject({
        root: dirs.cwd,
        source: "cwd",
      });
    }
    expect(await resolveWorkspace({ env: {}, cwd: dirs.cwd })).toMatchObject({ source: "cwd" });
  });

  it("resolves the root to its real path", async () => {
    expect((await resolveWorkspace({ flag: join(base, "link"), env: {} })).root).toBe(dirs.flag);
  });

  it("gives a UserError naming the path and where it came from when it is not a directory", async () => {
    for (const [src, said] of [
      [
        { flag: join(base, "file.txt"), env: {} },
        `--root "${join(base, "file.txt")}" is not a directory; give the path of your repository.`,
      ],
      [
        { env: { DELEGATE_ROOT: join(base, "missing") } },
        `DELEGATE_ROOT "${join(base, "missing")}" is not a directory; set it to your repository or unset it.`,
      ],
    ] as const) {
      const err = await resolveWorkspace(src).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toBe(said);
    }
  });

  it("takes DELEGATE_DIR relative to the root", async () => {
    const ws = await resolveWorkspace({ flag: dirs.flag, env: { DELEGATE_DIR: "./.delegate/tasks/" } });
    expect(ws).toMatchObject({ dirRel: ".delegate/tasks", dir: join(dirs.flag, ".delegate", "tasks") });
  });

  it.each(["..", "../elsewhere", "a/../../b", "a/..", "/abs", ".", "a/./b", "a//b"])(
    "rejects DELEGATE_DIR %j",
    async (DELEGATE_DIR) => {
      const err = await resolveWorkspace({ flag: dirs.flag, env: { DELEGATE_DIR } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).field).toBe("DELEGATE_DIR");
      expect((err as Error).message).toContain(`"${DELEGATE_DIR}"`);
    },
  );
});

describe("firstFileRoot", () => {
  it("skips non-file roots and malformed file URLs", () => {
    expect(firstFileRoot(["file://remote-host/x", "file:///a/b"])).toBe("/a/b");
    expect(firstFileRoot([])).toBeUndefined();
  });
});
