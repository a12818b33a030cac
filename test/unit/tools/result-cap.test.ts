/**
 * Every tool's answer goes through one size cap (tools/define.ts toolResponse). list_tasks never
 * applied one itself: a project full of damaged task files used to answer with every warning.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createServer, type DelegateServer } from "../../../src/server.js";
import { RESULT_BUDGET_BYTES } from "../../../src/tools/budget.js";
import { PAGE_MAX } from "../../../src/tools/list-tasks.js";

let root: string;
let running: DelegateServer | undefined;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "delegate-cap-"));
});
afterEach(async () => {
  await running?.cleanup();
  running = undefined;
  await rm(root, { recursive: true, force: true });
});

async function connect(): Promise<Client> {
  running = createServer({ root, env: { DELEGATE_LOG: "silent" } });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await running.server.connect(serverSide);
  const client = new Client({ name: "cap-test", version: "1" });
  await client.connect(clientSide);
  return client;
}

describe("one result cap for every tool", () => {
  it("holds list_tasks under the budget, saying how many warnings it cut", async () => {
    const dir = join(root, "mini-projects", "big");
    await mkdir(dir, { recursive: true });
    const damaged = 900;
    // list_tasks reads one page of files per call: its damaged ones are what it reports.
    const perPage = PAGE_MAX;
    for (let i = 1; i <= damaged; i++) {
      await writeFile(join(dir, `${String(i).padStart(2, "0")}-damaged-task-file.json`), "{ not json");
    }
    const client = await connect();
    const r = await client.callTool({ name: "list_tasks", arguments: {} });
    expect(r.isError).toBeFalsy();
    const structured = r.structuredContent as { count: number; warnings: string[] };
    const json = JSON.stringify(structured);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(RESULT_BUDGET_BYTES);
    // Uncut, the warnings alone would be well over the budget: the cap did the work.
    expect(structured.warnings[0]).toMatch(/01-damaged-task-file\.json is damaged/);
    const last = structured.warnings.at(-1)!;
    const cut = Number(/^\[…(\d+) more cut to fit\]$/.exec(last)?.[1] ?? 0);
    expect(structured.warnings.length - (cut ? 1 : 0) + cut).toBe(perPage);
    const text = (r.content as { type: string; text: string }[])[0]!.text;
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(RESULT_BUDGET_BYTES);
    expect(text).toBe(`${damaged} task(s), more with next_cursor\n${json}`);
  });
});
