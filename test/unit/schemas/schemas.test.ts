import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateSchemas } from "../../../scripts/schemas.js";

describe("checked-in JSON Schemas", () => {
  const generated = generateSchemas();

  for (const [file, text] of Object.entries(generated)) {
    it(`schemas/${file} matches what the zod schema generates (run npm run schemas)`, () => {
      const onDisk = readFileSync(new URL(`../../../schemas/${file}`, import.meta.url), "utf8");
      expect(onDisk).toBe(text);
    });
  }

  it("the mini-task schema describes the stored form, strict", () => {
    const schema = JSON.parse(generated["mini-task.schema.json"]!);
    expect(schema.additionalProperties).toBe(false);
    for (const key of [
      "project",
      "title",
      "objective",
      "files_to_modify",
      "steps",
      "id",
      "status",
      "estimate",
      "lint",
      "attempts",
    ]) {
      expect(schema.properties).toHaveProperty(key);
    }
  });
});
