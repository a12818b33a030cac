import { describe, expect, it } from "vitest";
import { z } from "zod";
import { miniTaskSpecSchema } from "../../../src/core/mini-task.js";
import { describeIssue, fieldPath } from "../../../src/core/zod-errors.js";
import { rawSpec } from "./fixtures.js";

/** The sentence for the first issue of parsing `raw` as a spec. */
function sentence(raw: unknown): string {
  const r = miniTaskSpecSchema.safeParse(raw);
  expect(r.success).toBe(false);
  return describeIssue(r.error!.issues[0]!);
}

function without(key: string): Record<string, unknown> {
  const raw = rawSpec();
  delete raw[key];
  return raw;
}

describe("fieldPath", () => {
  it("writes indexes in brackets and keys with dots", () => {
    expect(fieldPath(["files_to_read", 1, "lines"])).toBe("files_to_read[1].lines");
    expect(fieldPath([])).toBe("");
  });
});

describe("describeIssue", () => {
  it("names an unknown top-level key and says to remove it", () => {
    expect(sentence(rawSpec({ colour: "red" }))).toBe(
      'Unknown field "colour"; remove it (unknown fields are not accepted).',
    );
  });

  it("names an unknown nested key with the path of its object", () => {
    expect(sentence(rawSpec({ files_to_read: [{ path: "a" }, { path: "b", line: "1-2" }] }))).toBe(
      'Unknown field "line" in files_to_read[1]; remove it (unknown fields are not accepted).',
    );
  });

  it("says a missing required field is required", () => {
    expect(sentence(without("objective"))).toBe("objective is required; add it.");
    expect(sentence(rawSpec({ validation: [{}] }))).toBe("validation[0].run is required; add it.");
    // Also when the caller asked zod to keep the input in its issues.
    const r = miniTaskSpecSchema.safeParse(without("title"), { reportInput: true });
    expect(describeIssue(r.error!.issues[0]!)).toBe("title is required; add it.");
    const r2 = miniTaskSpecSchema.safeParse(rawSpec({ title: 5 }), { reportInput: true });
    expect(describeIssue(r2.error!.issues[0]!)).toBe("title must be a string.");
  });

  it("says a present field of the wrong type must have the right type, not that it is missing", () => {
    expect(sentence(rawSpec({ title: 5 }))).toBe("title must be a string.");
    expect(sentence(rawSpec({ steps: "Add it." }))).toBe("steps must be a list.");
    expect(sentence(rawSpec({ files_to_read: ["a.ts"] }))).toBe("files_to_read[0] must be an object.");
    expect(sentence(rawSpec({ validation: [{ run: "x", expect_exit: 1.5 }] }))).toBe(
      "validation[0].expect_exit must be an integer.",
    );
    expect(sentence(rawSpec({ title: null }))).toBe("title must be a string.");
  });

  it("lists the allowed values of an enum", () => {
    expect(sentence(rawSpec({ files_to_modify: [{ path: "a", action: "delete" }] }))).toBe(
      'files_to_modify[0].action must be one of "create", "edit".',
    );
  });

  it("gives the bound of a too-small or too-big value", () => {
    expect(sentence(rawSpec({ steps: [] }))).toBe("steps must have at least 1 item(s).");
    expect(sentence(rawSpec({ title: "ab" }))).toBe("title must be at least 3 character(s) long.");
    expect(sentence(rawSpec({ validation: [{ run: "x", expect_exit: -1 }] }))).toBe(
      "validation[0].expect_exit must be at least 0.",
    );
    expect(sentence(rawSpec({ validation: [{ run: "x", timeout_s: 0 }] }))).toBe(
      "validation[0].timeout_s must be greater than 0.",
    );
    expect(sentence(rawSpec({ validation: [{ run: "x", timeout_s: 4000 }] }))).toBe(
      "validation[0].timeout_s must be at most 3600.",
    );
    expect(sentence(rawSpec({ steps: Array(41).fill("Add x.") }))).toBe(
      "steps must have at most 40 item(s); split the work.",
    );
    expect(sentence(rawSpec({ title: "t".repeat(121) }))).toBe(
      "title must be at most 120 characters long; shorten it.",
    );
  });

  it("uses the schema's message for a regex mismatch", () => {
    expect(sentence(rawSpec({ files_to_read: [{ path: "a" }, { path: "b", lines: "40" }] }))).toBe(
      "files_to_read[1].lines must look like START-END, e.g. 10-40 (in a template also {{name}}).",
    );
    expect(sentence(rawSpec({ project: "Bad Name" }))).toBe(
      "project must be a lowercase slug like split-todoist.",
    );
    expect(sentence(rawSpec({ depends_on: ["nope"] }))).toBe(
      "depends_on[0] must be a task id like proj/01-slug.",
    );
  });

  it("names the arguments when the whole input has the wrong type, and honours a prefix", () => {
    expect(sentence("spec")).toBe("arguments must be an object.");
    const r = z.object({ n: z.number() }).safeParse({ n: "1" });
    expect(describeIssue(r.error!.issues[0]!, "limits")).toBe("limits.n must be a number.");
  });

  it("falls back to the issue's message for other kinds, still naming the field", () => {
    const r = z.object({ a: z.string().refine(() => false, "is not allowed here") }).safeParse({ a: "x" });
    expect(describeIssue(r.error!.issues[0]!)).toBe("a is not allowed here.");
    const r2 = z.object({ a: z.string().refine(() => false, "Nope") }).safeParse({ a: "x" });
    expect(describeIssue(r2.error!.issues[0]!)).toBe("a is invalid: Nope.");
  });
});
