import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../../src/store/atomic.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "atomic-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("writeFileAtomic", () => {
  it("replaces the file's content and leaves no temp file", async () => {
    const path = join(dir, "f.json");
    await writeFileAtomic(path, "one");
    await writeFileAtomic(path, "two");
    expect(await readFile(path, "utf8")).toBe("two");
    expect(await readdir(dir)).toEqual(["f.json"]);
  });

  it("leaves no temp file behind when the rename fails", async () => {
    const path = join(dir, "taken");
    await mkdir(join(path, "child"), { recursive: true });
    await expect(writeFileAtomic(path, "x")).rejects.toThrow();
    expect(await readdir(dir)).toEqual(["taken"]);
  });

  it("fails without creating anything when the directory is missing", async () => {
    await expect(writeFileAtomic(join(dir, "no", "f"), "x")).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readdir(dir)).toEqual([]);
  });
});
