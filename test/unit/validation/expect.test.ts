import { describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import { parseExpectOutput } from "../../../src/validation/expect.js";

describe("parseExpectOutput", () => {
  it("treats plain text as a substring, special characters included", () => {
    const e = parseExpectOutput("1 passed (1)");
    expect(e.kind).toBe("substring");
    expect(e.test("Tests  1 passed (1)\n")).toBe(true);
    expect(e.test("Tests  11 failed")).toBe(false);
  });

  it("treats /pattern/flags as a regular expression", () => {
    const e = parseExpectOutput("/^ok \\d+$/m");
    expect(e.kind).toBe("regex");
    expect(e.test("start\nok 12\nend")).toBe(true);
    expect(e.test("not ok 12x")).toBe(false);
    expect(parseExpectOutput("/HELLO/i").test("say hello")).toBe(true);
  });

  it("gives the same answer on every call even with the g flag", () => {
    const e = parseExpectOutput("/ok/g");
    expect([e.test("ok"), e.test("ok"), e.test("ok")]).toEqual([true, true, true]);
  });

  it("keeps a path with slashes a substring when what follows the last slash is not a flag", () => {
    const e = parseExpectOutput("/usr/bin/env");
    expect(e.kind).toBe("substring");
    expect(e.test("#!/usr/bin/env node")).toBe(true);
  });

  it("throws a UserError naming the problem for an invalid regex", () => {
    expect(() => parseExpectOutput("/foo(/")).toThrow(UserError);
    expect(() => parseExpectOutput("/foo(/")).toThrow(/not a valid regular expression.*plain substring/);
    expect(() => parseExpectOutput("/a/gg")).toThrow(UserError);
  });
});
