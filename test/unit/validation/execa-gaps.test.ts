/**
 * The two jobs the validation runner does not leave to execa (see spawnAndWait in runner.ts). If a
 * later execa closes a gap, its test here fails, and the runner's direct code for it can go.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { eventually, isRunning } from "./processes.js";

const leftovers: number[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

describe("what execa 9 cannot do for the runner", () => {
  it("its promise stays pending after the leader exits while a grandchild holds the pipe", async () => {
    const subprocess = execa("bash", ["-c", "sleep 30 & echo $!"], { stdin: "ignore", reject: false });
    let grandchild = 0;
    subprocess.stdout.on("data", (chunk: Buffer) => {
      grandchild ||= Number(chunk.toString().trim());
    });
    let settled = false;
    const result = subprocess.then((r) => {
      settled = true;
      return r;
    });
    await new Promise<void>((resolve) => subprocess.once("exit", () => resolve()));
    expect(await eventually(() => grandchild > 0, 5000)).toBe(true);
    leftovers.push(grandchild);
    expect(isRunning(grandchild)).toBe(true);
    // The leader is gone and nothing else will happen until the grandchild lets go of stdout.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    process.kill(grandchild, "SIGKILL");
    expect((await result).stdout).toBe(String(grandchild));
  });

  it("its cancelSignal (and timeout: both call subprocess.kill()) signals the leader only", async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), "delegate-execa-")), "pid");
    const cancel = new AbortController();
    const pending = execa("bash", ["-c", `sleep 30 & echo $! > ${pidFile}; wait`], {
      detached: true,
      stdio: "ignore",
      cancelSignal: cancel.signal,
      reject: false,
    });
    expect(
      await eventually(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n"), 5000),
    ).toBe(true);
    const grandchild = Number(readFileSync(pidFile, "utf8").trim());
    leftovers.push(grandchild);
    rmSync(dirname(pidFile), { recursive: true, force: true });
    cancel.abort();
    const r = await pending;
    expect(r.isCanceled).toBe(true);
    expect(r.signal).toBe("SIGTERM");
    // The leader is dead; its background child, in the same process group, is not.
    expect(isRunning(grandchild)).toBe(true);
  });
});
