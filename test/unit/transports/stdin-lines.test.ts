import { describe, expect, it } from "vitest";
import { type OversizedMessage, StdinLines } from "../../../src/transports/stdin-lines.js";

function feed(chunks: string[], limit: number) {
  const skipped: OversizedMessage[] = [];
  const lines = new StdinLines((m) => skipped.push(m), limit);
  const out: string[] = [];
  lines.on("data", (d: Buffer) => out.push(d.toString()));
  for (const c of chunks) lines.write(Buffer.from(c));
  lines.end();
  return { out, skipped };
}

describe("#18.8 StdinLines", () => {
  it("passes whole lines within the limit, however the chunks fall", () => {
    const { out, skipped } = feed(['{"a":', '1}\n{"b":2}\n{"c"', ":3}\n"], 20);
    expect(out).toEqual(['{"a":1}\n', '{"b":2}\n', '{"c":3}\n']);
    expect(skipped).toEqual([]);
  });

  it("skips a line over the limit and finds its top-level id at either end, never a nested one", () => {
    const pad = "x".repeat(100);
    const { out, skipped } = feed(
      [
        `{"jsonrpc":"2.0","id":"req-1","params":"${pad}"}\n`,
        `{"method":"m","params":{"p":"${pad}"},"jsonrpc":"2.0","id":42}\n`,
        `{"method":"m","params":{"p":"${pad}","id":5}}\n`,
        '{"ok":1}\n',
      ],
      50,
    );
    expect(out).toEqual(['{"ok":1}\n']);
    expect(skipped.map((s) => s.id)).toEqual(["req-1", 42, null]);
    expect(skipped[0]!.bytes).toBeGreaterThan(100);
  });
});
