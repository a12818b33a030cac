/**
 * Progress sent just before a tool's result must reach the client first. Over stdio both can
 * arrive in one read; the SDK client then settles the response before it runs the notification's
 * handler and drops the progress. The transport here delivers everything written in one turn of
 * the event loop as one batch, which reproduces that read without depending on timing.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { toolProgress } from "../../../src/tool-progress.js";

async function callWithProgress(waitForDelivery: boolean): Promise<{ messages: string[]; errors: string[] }> {
  const server = new Server({ name: "s", version: "1" }, { capabilities: { tools: {} } });
  server.setRequestHandler(CallToolRequestSchema, async (_req, extra) => {
    const progress = toolProgress(extra);
    await progress.send(1, 2, "step 1");
    // A separate read for the first one: only what is written with the result shares its read.
    await new Promise((resolve) => setImmediate(resolve));
    void progress.send(2, 2, "attempt 1: passed");
    if (waitForDelivery) await progress.delivered();
    return { content: [{ type: "text", text: "done" }] };
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const deliver = serverSide.send.bind(serverSide);
  let batch: JSONRPCMessage[] = [];
  serverSide.send = async (message) => {
    if (batch.length === 0) {
      setImmediate(() => {
        const read = batch;
        batch = [];
        for (const m of read) void deliver(m);
      });
    }
    batch.push(message);
  };
  await server.connect(serverSide);
  const client = new Client({ name: "c", version: "1" });
  const errors: string[] = [];
  client.onerror = (err) => errors.push(err.message);
  await client.connect(clientSide);
  const messages: string[] = [];
  await client.callTool({ name: "t", arguments: {} }, undefined, {
    onprogress: (p) => messages.push(String(p.message)),
  });
  await client.close();
  return { messages, errors };
}

describe("progress before the result", () => {
  it("the client has every progress notification when the result arrives", async () => {
    const { messages, errors } = await callWithProgress(true);
    expect(messages).toEqual(["step 1", "attempt 1: passed"]);
    expect(errors).toEqual([]);
  });

  it("without waiting for delivery the last one is lost (the race this guards against)", async () => {
    const { messages, errors } = await callWithProgress(false);
    expect(messages).toEqual(["step 1"]);
    expect(errors.join("\n")).toMatch(/progress notification for an unknown token/);
  });
});
