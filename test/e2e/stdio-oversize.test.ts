import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { assertBuilt, CLI, cleanEnv, initializeRequest, makeRepo, removeDir } from "./harness.js";

const MiB = 1024 * 1024;

/** The built stdio server driven with raw JSON lines, so a test can send what no SDK client would. */
function rawStdio(root: string) {
  assertBuilt();
  const proc = spawn(process.execPath, [CLI, "--root", root], {
    cwd: root,
    env: cleanEnv({ HOME: root }),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const replies = new Map<unknown, Record<string, unknown>>();
  const waiting = new Map<unknown, (r: Record<string, unknown>) => void>();
  let buffered = "";
  proc.stdout!.on("data", (d: Buffer) => {
    buffered += d.toString();
    for (let nl = buffered.indexOf("\n"); nl !== -1; nl = buffered.indexOf("\n")) {
      const message = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
      buffered = buffered.slice(nl + 1);
      replies.set(message.id, message);
      waiting.get(message.id)?.(message);
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return {
    proc,
    stderr: () => stderr,
    exited,
    send: (line: string) => proc.stdin!.write(`${line}\n`),
    reply: (id: unknown) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const r = replies.get(id);
        if (r) resolve(r);
        else waiting.set(id, resolve);
      }),
  };
}

const repo = makeRepo({ "a.txt": "a\n" });
afterAll(() => removeDir(repo));

describe("#18.8 a stdio message over 10 MiB", () => {
  it("gets a JSON-RPC error and a warning on stderr, and the server stays up", async () => {
    const s = rawStdio(repo);
    try {
      s.send(JSON.stringify(initializeRequest("oversize")));
      await s.reply(1);
      s.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
      // As the SDK client writes requests: method, params, jsonrpc, then id last.
      const huge = {
        method: "tools/call",
        params: { name: "get_task", arguments: { task_id: "x".repeat(11 * MiB) } },
      };
      s.send(JSON.stringify({ ...huge, jsonrpc: "2.0", id: 7 }));
      s.send(JSON.stringify({ jsonrpc: "2.0", id: 8, method: "tools/list", params: {} }));
      // A notification has no id to answer: only the warning.
      s.send(
        JSON.stringify({ jsonrpc: "2.0", method: "notifications/x", params: { pad: "y".repeat(11 * MiB) } }),
      );
      s.send(JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping" }));

      const tooLarge = await s.reply(7);
      expect(tooLarge.error).toEqual({
        code: -32600,
        message: expect.stringMatching(
          /^Request too large: a message of 1153\d{4} bytes is over the 10485760-byte \(10 MiB\) limit; it was not read; send less at once\.$/,
        ),
      });
      expect(((await s.reply(8)).result as { tools: unknown[] }).tools.length).toBeGreaterThan(5);
      expect((await s.reply(9)).result).toEqual({});
      expect(s.stderr()).toMatch(
        /warn: a message of \d+ bytes is over the 10485760-byte \(10 MiB\) limit; it was not read\n/,
      );
      expect(s.stderr()).toMatch(/no request id found, so no error response was sent/);
      expect(s.proc.exitCode).toBeNull();
    } finally {
      s.proc.stdin!.end();
      await s.exited;
    }
  });
});
