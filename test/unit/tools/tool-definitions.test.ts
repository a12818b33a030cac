import { countTokens } from "gpt-tokenizer";
import { describe, expect, it } from "vitest";
import { jsonSchemaOf } from "../../../src/tools/define.js";
import { TOOLS } from "../../../src/tools/index.js";

/** What the planner model is sent of every tool on every turn: name, description, inputSchema. */
function toolDefinitionTokens(): { name: string; tokens: number }[] {
  return TOOLS.map((t) => ({
    name: t.name,
    tokens: countTokens(
      JSON.stringify({
        name: t.name,
        description: t.description,
        input_schema: jsonSchemaOf(t.input, "input"),
      }),
    ),
  }));
}

describe("tool definitions the planner pays for", () => {
  it("stay under 2,500 tokens all together (o200k)", () => {
    const rows = toolDefinitionTokens();
    const total = rows.reduce((s, r) => s + r.tokens, 0);
    expect(total, JSON.stringify(rows)).toBeLessThan(2500);
  });

  it("every input schema is strict and every tool has an output schema", () => {
    for (const t of TOOLS) {
      expect(jsonSchemaOf(t.input, "input").additionalProperties, t.name).toBe(false);
      expect(jsonSchemaOf(t.output, "output").type, t.name).toBe("object");
    }
  });

  it("descriptions are short", () => {
    for (const t of TOOLS) expect(t.description.length, t.name).toBeLessThanOrEqual(240);
  });
});
