import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type HttpServeOptions, serveHttp } from "../../src/transports/http.js";
import { initializeRequest, MCP_HEADERS, makeRepo, removeDir } from "./harness.js";

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function start(opts: Partial<HttpServeOptions>) {
  const repo = makeRepo({ "a.txt": "a\n" });
  const running = await serveHttp({ port: 0, host: "127.0.0.1", root: repo, env: {}, ...opts });
  cleanup = async () => {
    await running.close();
    removeDir(repo);
  };
  return running;
}

function initialize(url: string) {
  return fetch(url, { method: "POST", headers: MCP_HEADERS, body: JSON.stringify(initializeRequest("cap")) });
}

describe("#18 HTTP limits", () => {
  it("caps open sessions with a clear 503, and frees a place when a session is closed", async () => {
    const { url } = await start({ maxSessions: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await initialize(url);
      expect(res.status).toBe(200);
      await res.text();
      ids.push(res.headers.get("mcp-session-id")!);
    }
    const refused = await initialize(url);
    expect(refused.status).toBe(503);
    const body = (await refused.json()) as { error: { message: string } };
    expect(body.error.message).toBe(
      "Service Unavailable: 2 sessions are open, the most this server keeps; close one (DELETE /mcp with its Mcp-Session-Id) or retry after idle ones expire.",
    );

    const closed = await fetch(url, {
      method: "DELETE",
      headers: { ...MCP_HEADERS, "mcp-session-id": ids[0]!, "mcp-protocol-version": "2025-06-18" },
    });
    expect(closed.status).toBe(200);
    const again = await initialize(url);
    expect(again.status).toBe(200);
    await again.text();
  });

  it("answers a request whose body never finishes with 408 and frees the socket", async () => {
    const { port } = await start({ requestTimeoutMs: 500 });
    const answer = await new Promise<{ text: string; closed: boolean }>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      let text = "";
      socket.setEncoding("utf8");
      socket.on("data", (d: string) => {
        text += d;
      });
      socket.on("close", () => resolve({ text, closed: true }));
      socket.on("error", reject);
      socket.write(
        `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
          `accept: application/json, text/event-stream\r\ncontent-length: 100\r\n\r\n{"jsonrpc":`,
      );
    });
    expect(answer.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer.closed).toBe(true);
  });
});
