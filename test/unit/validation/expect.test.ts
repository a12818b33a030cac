import { describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import { parseExpectOutput } from "../../../src/validation/expect.js";

describe("parseExpectOutput", () => {
  it("treats plain text as a substring, special characters included", async () => {
    const e = parseExpectOutput("1 passed (1)");
    expect(e.kind).toBe("substring");
    expect(await e.test("Tests  1 passed (1)\n")).toEqual({ found: true });
    expect(await e.test("Tests  11 failed")).toEqual({ found: false });
  });

  it("treats /pattern/flags as a regular expression", async () => {
    const e = parseExpectOutput("/^ok \\d+$/m");
    expect(e.kind).toBe("regex");
    expect((await e.test("start\nok 12\nend")).found).toBe(true);
    expect((await e.test("not ok 12x")).found).toBe(false);
    expect((await parseExpectOutput("/HELLO/i").test("say hello")).found).toBe(true);
  });

  it("gives the same answer on every call even with the g flag", async () => {
    const e = parseExpectOutput("/ok/g");
    const answers = [await e.test("ok"), await e.test("ok"), await e.test("ok")];
    expect(answers.map((a) => a.found)).toEqual([true, true, true]);
  });

  it("keeps a path with slashes a substring when what follows the last slash is not a flag", async () => {
    const e = parseExpectOutput("/usr/bin/env");
    expect(e.kind).toBe("substring");
    expect((await e.test("#!/usr/bin/env node")).found).toBe(true);
  });

  it("throws a UserError naming the problem for an invalid regex", () => {
    expect(() => parseExpectOutput("/foo(/")).toThrow(UserError);
    expect(() => parseExpectOutput("/foo(/")).toThrow(/not a valid regular expression.*plain substring/);
    expect(() => parseExpectOutput("/a/gg")).toThrow(UserError);
  });

  it("regression #18.1: a catastrophic regex never blocks the event loop and ends as not found", async () => {
    const e = parseExpectOutput("/^(a+)+$/");
    const order: string[] = [];
    const match = e.test(`${"a".repeat(34)}!`).then((r) => {
      order.push("match");
      return r;
    });
    // Queued before the worker has even started, so it can only run first if the loop is free.
    await new Promise<void>((done) =>
      setImmediate(() => {
        order.push("event loop");
        done();
      }),
    );
    const result = await match;
    expect(order).toEqual(["event loop", "match"]);
    expect(result.found).toBe(false);
    expect(result.unfinished).toMatch(/did not finish matching within 2 s/);
  });

  it("quotes a long pattern bounded in its description", () => {
    const e = parseExpectOutput(`/${"x".repeat(5000)}/`);
    expect(e.describe().length).toBeLessThan(120);
  });
});
