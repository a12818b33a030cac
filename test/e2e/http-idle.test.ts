import { afterEach, describe, expect, it } from "vitest";
import { serveHttp } from "../../src/transports/http.js";
import { initializeRequest, MCP_HEADERS, makeRepo, removeDir, sleep } from "./harness.js";

const initialize = initializeRequest("idle-test", "1");

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function open(idleTimeoutMs: number) {
  const repo = makeRepo({ "a.txt": "a\n" });
  const running = await serveHttp({ port: 0, host: "127.0.0.1", root: repo, env: {}, idleTimeoutMs });
  cleanup = async () => {
    await running.close();
    removeDir(repo);
  };
  const res = await fetch(running.url, {
    method: "POST",
    headers: MCP_HEADERS,
    body: JSON.stringify(initialize),
  });
  expect(res.status).toBe(200);
  await res.text();
  const session = res.headers.get("mcp-session-id")!;
  const list = () =>
    fetch(running.url, {
      method: "POST",
      headers: { ...MCP_HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    });
  return { list };
}

describe("HTTP sessions", () => {
  it("a session idle past the timeout is closed: its id then gets 404", async () => {
    const { list } = await open(1000);
    const first = await list();
    expect(first.status).toBe(200);
    await first.text();
    await sleep(3000);
    const late = await list();
    expect(late.status).toBe(404);
    await late.text();
  });

  it("a session used within the timeout stays open", async () => {
    const { list } = await open(60_000);
    await sleep(300);
    const res = await list();
    expect(res.status).toBe(200);
    await res.text();
  });
});
