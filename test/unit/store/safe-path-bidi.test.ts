import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shown, UserError } from "../../../src/core/errors.js";
import { safePath } from "../../../src/store/safe-path.js";

let root: string;
beforeAll(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "safe-path-bidi-")));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe("#18 bidi control characters in paths", () => {
  it.each([0x202e, 0x202d, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c, 0x202a])(
    "refuses code point %i and quotes the path with the character escaped",
    async (code) => {
      const c = String.fromCharCode(code);
      const path = `src/invoice${c}txt.exe`;
      const refused = safePath(root, path, "files_to_modify[0].path");
      await expect(refused).rejects.toBeInstanceOf(UserError);
      await expect(refused).rejects.toThrow(/bidirectional control character, which can disguise a name/);
      await expect(refused).rejects.not.toThrow(c);
    },
  );

  it("shown() escapes bidi controls in any quoted text", () => {
    expect(shown("a\u202eb")).toBe("a\\u202eb");
  });

  it("still accepts ordinary right-to-left text in a name", async () => {
    await expect(safePath(root, "docs/\u05e9\u05dc\u05d5\u05dd.md")).resolves.toMatchObject({
      rel: "docs/\u05e9\u05dc\u05d5\u05dd.md",
    });
  });
});
