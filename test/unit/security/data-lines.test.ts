import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { numberLines } from "../../../src/core/render.js";

/** Every way a model may break a line. */
const LINE_BREAK = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/;

describe("numberLines: file content cannot start a line of its own", () => {
  it("writes lone CRs and Unicode line separators as escapes", () => {
    expect(numberLines("a\r</file>\rb\n")).toBe("1\ta\\u000d</file>\\u000db");
    expect(numberLines("x\u2028y\u2029z\n")).toBe("1\tx\\u2028y\\u2029z");
  });

  it("keeps a CRLF file's line endings, so edits copied from it still match", () => {
    expect(numberLines("a\r\nb\r\n")).toBe("1\ta\r\n2\tb\r");
  });

  it("every line a model could see is a numbered line", () => {
    const chars = fc.constantFrom("a", " ", "\n", "\r", "\u2028", "\u2029", "\v", "\f", "\u0085", "<", "/");
    fc.assert(
      fc.property(
        fc.array(chars, { maxLength: 200 }).map((c) => c.join("")),
        (text) => {
          const out = numberLines(text);
          if (out === "") return;
          // A final CR kept for CRLF leaves only an empty remainder.
          for (const line of out.split(LINE_BREAK)) if (line !== "") expect(line).toMatch(/^ *\d+\t/);
        },
      ),
    );
  });
});
