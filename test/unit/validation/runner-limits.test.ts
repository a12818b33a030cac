import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import { runValidation } from "../../../src/validation/index.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "delegate-limits-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("#18.6 commands that can never run are caller errors, not bugs", () => {
  it("refuses a NUL byte and an over-limit line before running anything", async () => {
    const nul = runValidation([{ run: "echo a\0b" }], { cwd: dir });
    await expect(nul).rejects.toBeInstanceOf(UserError);
    await expect(nul).rejects.toThrow(
      "commands[0].run contains a NUL byte, which no shell line can hold; remove it.",
    );
    await expect(runValidation([{ run: `echo ${"x".repeat(140_000)}` }], { cwd: dir })).rejects.toThrow(
      /commands\[0\]\.run is over the system's 128 KiB limit .*script/,
    );
  });

  it("reports an environment the system refuses (E2BIG) as a command that could not start", async () => {
    const run = await runValidation([{ run: "true" }], {
      cwd: dir,
      env: { PATH: process.env.PATH, HUGE: "x".repeat(200_000) },
    });
    expect(run.passed).toBe(false);
    expect(run.results[0]!.error).toMatch(/^bash could not be started: .*E2BIG/);
  });
});
