import { describe, expect, it } from "vitest";
import { clean, OutputCapture } from "../../../src/validation/output.js";

const fatal = new TextDecoder("utf-8", { fatal: true });

function capture(budget: number, ...chunks: (string | Buffer)[]) {
  const c = new OutputCapture(budget);
  for (const chunk of chunks) c.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return c;
}

describe("OutputCapture", () => {
  it("keeps everything, unchanged, when the output fits the budget", () => {
    const out = capture(30, "hello ", "wörld\n", "second line").finish();
    expect(out.text).toBe("hello wörld\nsecond line");
    expect(out.droppedBytes).toBe(0);
    expect(out.totalBytes).toBe(Buffer.byteLength("hello wörld\nsecond line"));
  });

  it("keeps the first third as head and the last two thirds as tail, stating the dropped bytes", () => {
    const c = capture(9, "abc", "0123456789", "uvwxyz");
    expect([c.headLimit, c.tailLimit]).toEqual([3, 6]);
    const out = c.finish();
    expect(out.text).toBe("abc\n[... 10 bytes dropped ...]\nuvwxyz");
    expect(out.kept).toBe("abc\nuvwxyz");
    expect(out.droppedBytes).toBe(10);
  });

  it("orders the tail correctly after the ring wraps many times with uneven chunks", () => {
    const c = new OutputCapture(30); // head 10, tail 20
    const all = Array.from({ length: 500 }, (_, i) => String(i % 10)).join("");
    for (let i = 0; i < all.length; i += 7) c.push(Buffer.from(all.slice(i, i + 7)));
    const out = c.finish();
    expect(out.text).toBe(`${all.slice(0, 10)}\n[... 470 bytes dropped ...]\n${all.slice(-20)}`);
  });

  it("holds no more than the budget however much is pushed (1 GB)", () => {
    const c = new OutputCapture(8192);
    const chunk = Buffer.alloc(1 << 20, "x");
    for (let i = 0; i < 1024; i++) {
      c.push(chunk);
      expect(c.retainedBytes).toBeLessThanOrEqual(8192);
    }
    const out = c.finish();
    expect(out.totalBytes).toBe(1024 * (1 << 20));
    expect(out.droppedBytes).toBe(1024 * (1 << 20) - 8192);
    expect(Buffer.byteLength(out.text)).toBeLessThan(8192 + 64);
  });

  it.each([
    ["2-byte é", "é"],
    ["3-byte €", "€"],
    ["4-byte 😀", "😀"],
  ])("never splits a %s at the head or tail boundary into garbage", (_name, char) => {
    const width = Buffer.byteLength(char);
    // head limit 4: the char starts at byte 3, so its tail bytes fall beyond the head.
    const text = `abc${char}${"m".repeat(40)}${char}xyz123`;
    const c = capture(12, text);
    const out = c.finish();
    expect(out.text).not.toContain("\uFFFD");
    expect(out.text.startsWith("abc\n[... ")).toBe(true);
    // The tail is the last 8 bytes: a partial char then xyz123 (for widths ≥ 3), or the whole char.
    const tailHasChar = width + 6 <= 8;
    expect(out.text.endsWith(tailHasChar ? `${char}xyz123` : "]\nxyz123")).toBe(true);
    const shown = Buffer.byteLength(out.kept) - 1; // minus the separator newline
    expect(out.droppedBytes).toBe(Buffer.byteLength(text) - shown);
    expect(out.text).toContain(`[... ${out.droppedBytes} bytes dropped ...]`);
  });

  it("turns binary into valid UTF-8 text with replacement characters", () => {
    const bytes = Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 131 + 7) % 256));
    const out = capture(1000, bytes).finish();
    expect(fatal.decode(Buffer.from(out.text))).toBe(out.text);
    expect(out.text).toContain("\uFFFD");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(out.text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });

  it("rejects a negative budget", () => {
    expect(() => new OutputCapture(-1)).toThrow(RangeError);
  });
});

describe("clean", () => {
  it("drops ANSI sequences, NULs and control characters, keeps tabs and newlines, normalises CR", () => {
    expect(clean("a\0b\x1b[31;1mred\x1b[0m\tc\r\nd\re\x07\x1b]0;title\x07!")).toBe("abred\tc\nd\ne!");
  });
});
