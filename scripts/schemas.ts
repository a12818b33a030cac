import { z } from "zod";
import { configSchema } from "../src/config/schema.js";
import { ledgerEntrySchema } from "../src/core/ledger-entry.js";
import { storedTaskSchema } from "../src/core/mini-task.js";

const SOURCES: Record<string, { schema: z.ZodType; title: string; io: "input" | "output" }> = {
  "mini-task.schema.json": { schema: storedTaskSchema, title: "delegate-mcp stored mini-task", io: "output" },
  "config.schema.json": { schema: configSchema, title: "delegate-mcp delegate.config.json", io: "input" },
  "ledger-entry.schema.json": {
    schema: ledgerEntrySchema,
    title: "delegate-mcp ledger record",
    io: "output",
  },
};

/** Every checked-in JSON Schema, as the zod schemas generate it (file name → text). */
export function generateSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [file, { schema, title, io }] of Object.entries(SOURCES)) {
    const json = {
      title,
      ...(z.toJSONSchema(schema, { io, target: "draft-2020-12" }) as Record<string, unknown>),
    };
    out[file] = `${JSON.stringify(json, null, 2)}\n`;
  }
  return out;
}
