import { describe, expect, it } from "vitest";
import { objectArguments, parseToolArguments } from "../../../src/providers/tool-arguments.js";

describe("parseToolArguments", () => {
  it("parses a JSON object", () => {
    expect(parseToolArguments('{"path":"a.ts","n":2}')).toEqual({ arguments: { path: "a.ts", n: 2 } });
  });

  it("reads an empty string as no arguments", () => {
    expect(parseToolArguments("  ")).toEqual({ arguments: {} });
  });

  it("reports invalid JSON with the text the model wrote, clipped", () => {
    const raw = `{"content": "${"x".repeat(500)}`;
    const parsed = parseToolArguments(raw);
    expect(parsed.arguments).toEqual({});
    expect(parsed.argumentsError).toMatch(/^tool arguments are not valid JSON \(.*\): \{"content": "x+…$/);
    expect(parsed.argumentsError!.length).toBeLessThan(400);
  });

  it.each([
    ["[1]", "an array"],
    ["null", "null"],
    ['"text"', "a string"],
    ["3", "a number"],
  ])("reports %s as not an object", (raw, got) => {
    expect(parseToolArguments(raw)).toEqual({
      arguments: {},
      argumentsError: `tool arguments must be a JSON object, got ${got}`,
    });
  });
});

describe("objectArguments", () => {
  it("keeps an object and reports anything else", () => {
    expect(objectArguments({ a: 1 })).toEqual({ arguments: { a: 1 } });
    expect(objectArguments("x").argumentsError).toBe("tool arguments must be a JSON object, got a string");
  });
});
