import { existsSync, readFileSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeLlm, scripted, startFakeLlm, toolUse } from "../fakes/llm-server.js";
import { fakeModel } from "./dispatch-helpers.js";
import { editSubtract, fullSpec, MATH } from "./fixtures.js";
import {
  git,
  type HttpServer,
  initializeRequest,
  killSpawned,
  MCP_HEADERS,
  makeRepo,
  removeDir,
  spawnCli,
  startHttp,
  startServer,
  textOf,
  until,
} from "./harness.js";

const MB = 1024 * 1024;
const INITIALIZE = initializeRequest("raw-http");
const LIST_TOOLS = { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} };

// A test that times out never reaches its own cleanup: no server outlives this file.
afterAll(killSpawned);

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with node:http (which, unlike fetch, lets a test set Host). Body chunks are written in order. */
function send(
  port: number,
  opts: {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: unknown;
    chunks?: Buffer[];
  } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        method: opts.method ?? "POST",
        path: opts.path ?? "/mcp",
        headers: { ...MCP_HEADERS, ...(opts.headers ?? {}) },
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    if (opts.chunks) {
      for (const chunk of opts.chunks) req.write(chunk);
      req.end();
    } else {
      req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
    }
  });
}

/** Sends only a request head (the body it announces never comes) and resolves with the status line's code. */
function sendHeadOnly(
  port: number,
  headers: Record<string, string>,
): Promise<{ status: number; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      received += d;
      const end = received.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.destroy();
      resolve({ status: Number(received.split(" ")[1]), head: received.slice(0, end) });
    });
    socket.on("error", reject);
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
    socket.write(`POST /mcp HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`);
  });
}

function jsonRpcError(res: RawResponse): { code: number; message: string } {
  const body = JSON.parse(res.body) as { jsonrpc: string; error: { code: number; message: string } };
  expect(body.jsonrpc).toBe("2.0");
  return body.error;
}

async function connectClient(url: string, headers: Record<string, string> = {}) {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = new Client({ name: "delegate-http-e2e", version: "1.0.0" });
  await client.connect(transport);
  // Primes the client's outputSchema validators: every later structuredContent is checked against them.
  await client.listTools();
  return { client, transport };
}

function repoWithFakeModel(llm: FakeLlm): string {
  const config = { models: { fake: fakeModel(llm) }, defaults: { executor: "fake" } };
  return makeRepo({
    "src/math.ts": MATH,
    "delegate.config.json": `${JSON.stringify(config, null, 2)}\n`,
  });
}

function ledgerLines(root: string): string[] {
  const path = join(root, "mini-projects", "ledger.jsonl");
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  expect(text.endsWith("\n"), "the ledger ends with a complete line").toBe(true);
  return text.split("\n").slice(0, -1);
}

describe("Streamable HTTP (dist/cli.js serve --http): request checks", () => {
  let repo: string;
  let server: HttpServer;

  beforeAll(async () => {
    repo = makeRepo({ "README.md": "# http\n" });
    server = await startHttp(repo);
  });
  afterAll(async () => {
    await server?.stop();
    removeDir(repo);
  });

  it("serves at http://127.0.0.1:PORT/mcp with a real port when asked for port 0", () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(server.port).toBeGreaterThan(0);
  });

  it("answers initialize for each loopback Host name", async () => {
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `[::1]:${server.port}`]) {
      const res = await send(server.port, { headers: { host }, body: INITIALIZE });
      expect(res.status, `Host ${host}: ${res.body}`).toBe(200);
      expect(res.headers["mcp-session-id"]).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("rejects a foreign Host with 403 and a JSON-RPC error", async () => {
    for (const host of [`evil.example:${server.port}`, "127.0.0.1", `127.0.0.1:${server.port + 1}`]) {
      const res = await send(server.port, { headers: { host }, body: INITIALIZE });
      expect(res.status, `Host ${host}`).toBe(403);
      expect(res.headers["mcp-session-id"]).toBeUndefined();
      expect(jsonRpcError(res).message).toContain("Host");
    }
  });

  it("rejects a foreign Host before reading the body", async () => {
    const res = await sendHeadOnly(server.port, {
      Host: `rebound.example:${server.port}`,
      "Content-Type": "application/json",
      "Content-Length": "1000",
    });
    expect(res.status).toBe(403);
  });

  it("rejects a foreign or opaque Origin with 403 and accepts the server's own", async () => {
    for (const origin of [
      "http://evil.example",
      `http://evil.example:${server.port}`,
      "null",
      `file://localhost:${server.port}`,
    ]) {
      const res = await send(server.port, { headers: { origin }, body: INITIALIZE });
      expect(res.status, `Origin ${origin}`).toBe(403);
      expect(jsonRpcError(res).message).toContain("Origin");
    }
    const own = await send(server.port, {
      headers: { origin: `http://localhost:${server.port}` },
      body: INITIALIZE,
    });
    expect(own.status, own.body).toBe(200);
  });

  it("serves MCP only at /mcp", async () => {
    const res = await send(server.port, { path: "/", body: INITIALIZE });
    expect(res.status).toBe(404);
    expect(jsonRpcError(res).message).toContain("/mcp");
    const put = await send(server.port, { method: "PUT", body: INITIALIZE });
    expect(put.status).toBe(405);
  });

  it("answers 413 to a body over 4 MB announced by Content-Length, and keeps serving", async () => {
    const big = { ...LIST_TOOLS, params: { pad: "x".repeat(5 * MB) } };
    const res = await send(server.port, { body: big });
    expect(res.status).toBe(413);
    expect(jsonRpcError(res).message).toContain(String(4 * MB));
    const after = await send(server.port, { body: INITIALIZE });
    expect(after.status).toBe(200);
  });

  it("answers 413 to an over-limit chunked body, counting as it reads", async () => {
    const chunk = Buffer.alloc(256 * 1024, "x");
    const res = await send(server.port, { chunks: Array.from({ length: 17 }, () => chunk) });
    expect(res.status).toBe(413);
  });

  it("answers 413 at once to a Content-Length far over the limit, without waiting for the body", async () => {
    const res = await sendHeadOnly(server.port, {
      Host: `127.0.0.1:${server.port}`,
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "Content-Length": String(1024 * MB),
    });
    expect(res.status).toBe(413);
  });

  it("answers 400 to a non-initialize request without a session id", async () => {
    const res = await send(server.port, { body: LIST_TOOLS });
    expect(res.status).toBe(400);
    expect(jsonRpcError(res).message).toContain("Mcp-Session-Id");
    const get = await send(server.port, { method: "GET", headers: { accept: "text/event-stream" } });
    expect(get.status).toBe(400);
  });

  it("answers 404 to an unknown session id, for POST, GET and DELETE", async () => {
    const headers = { "mcp-session-id": "00000000-0000-4000-8000-000000000000" };
    expect((await send(server.port, { headers, body: LIST_TOOLS })).status).toBe(404);
    expect(
      (await send(server.port, { method: "GET", headers: { ...headers, accept: "text/event-stream" } }))
        .status,
    ).toBe(404);
    expect((await send(server.port, { method: "DELETE", headers })).status).toBe(404);
  });

  it("ends a session on DELETE: its id is unknown afterwards", async () => {
    const { client, transport } = await connectClient(server.url);
    const id = transport.sessionId!;
    expect(id).toBeTruthy();
    const before = await send(server.port, { headers: { "mcp-session-id": id }, body: LIST_TOOLS });
    expect(before.status).toBe(200);
    await transport.terminateSession();
    await client.close();
    const after = await send(server.port, { headers: { "mcp-session-id": id }, body: LIST_TOOLS });
    expect(after.status).toBe(404);
  });
});

describe("Streamable HTTP: bearer token", () => {
  let repo: string;

  beforeAll(() => {
    repo = makeRepo({ "README.md": "# token\n" });
  });
  afterAll(() => removeDir(repo));

  it("refuses to start on a non-loopback address without DELEGATE_HTTP_TOKEN", async () => {
    const run = spawnCli(["serve", "--http", "--host", "0.0.0.0", "--port", "0", "--root", repo], repo, {});
    const { code } = await run.exited;
    expect(code).not.toBe(0);
    expect(run.stderr()).toContain("DELEGATE_HTTP_TOKEN");
    expect(run.stderr()).toContain("0.0.0.0");
    expect(run.stderr()).not.toContain("serving MCP at");
    expect(run.stdout()).toBe("");
  });

  it("requires Authorization: Bearer <token> on every request when a token is set", async () => {
    const server = await startHttp(repo, { DELEGATE_HTTP_TOKEN: "s3cret-token-for-tests" });
    try {
      const none = await send(server.port, { body: INITIALIZE });
      expect(none.status).toBe(401);
      expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
      expect(jsonRpcError(none).message).toContain("Bearer");
      for (const authorization of [
        "Bearer wrong",
        "Bearer s3cret-token-for-test",
        "Basic s3cret-token-for-tests",
        "Bearer ",
      ]) {
        const res = await send(server.port, { headers: { authorization }, body: INITIALIZE });
        expect(res.status, authorization).toBe(401);
      }
      const headOnly = await sendHeadOnly(server.port, {
        Host: `127.0.0.1:${server.port}`,
        "Content-Type": "application/json",
        "Content-Length": "1000",
      });
      expect(headOnly.status, "checked before the body is read").toBe(401);

      const ok = await send(server.port, {
        headers: { authorization: "Bearer s3cret-token-for-tests" },
        body: INITIALIZE,
      });
      expect(ok.status, ok.body).toBe(200);
      const sessionId = ok.headers["mcp-session-id"] as string;
      const withoutToken = await send(server.port, {
        headers: { "mcp-session-id": sessionId },
        body: LIST_TOOLS,
      });
      expect(withoutToken.status, "a session id is no substitute for the token").toBe(401);

      const { client } = await connectClient(server.url, { authorization: "Bearer s3cret-token-for-tests" });
      const listed = (await client.callTool({ name: "list_tasks", arguments: {} })) as CallToolResult;
      expect(listed.isError, textOf(listed)).toBeFalsy();
      await client.close();
    } finally {
      await server.stop();
    }
  });
});

describe("Streamable HTTP: tools over the SDK client", () => {
  let llm: FakeLlm;
  let repo: string;
  let server: HttpServer;

  beforeAll(async () => {
    llm = await startFakeLlm();
    repo = repoWithFakeModel(llm);
    server = await startHttp(repo, { FAKE_KEY: "x" });
  });
  afterEach(() => llm.reset());
  afterAll(async () => {
    await server?.stop();
    await llm?.close();
    removeDir(repo);
  });

  it("runs create_mini_task → dispatch_to_small_model (fake LLM) → savings_report and list_tasks", async () => {
    llm.setHandler(
      scripted([
        editSubtract,
        toolUse("run_validation", {}),
        toolUse("finish", {
          status: "complete",
          summary:
            "Mini-Task: Add subtract function — COMPLETE ✅\nChanged: src/math.ts: added subtract\nValidation: passed\nNotes: none",
        }),
      ]),
    );
    const { client, transport } = await connectClient(server.url);

    const created = (await client.callTool({
      name: "create_mini_task",
      arguments: fullSpec(),
    })) as CallToolResult;
    expect(created.isError, textOf(created)).toBeFalsy();
    const taskId = (created.structuredContent as { id: string }).id;

    const progress: Progress[] = [];
    const dispatched = (await client.callTool(
      { name: "dispatch_to_small_model", arguments: { task_id: taskId } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult;
    expect(dispatched.isError, textOf(dispatched)).toBeFalsy();
    const [result] = (
      dispatched.structuredContent as {
        results: {
          task_id: string;
          status: string;
          files_changed: { path: string }[];
        }[];
      }
    ).results;
    expect(result!.task_id).toBe(taskId);
    expect(result!.status, textOf(dispatched)).toBe("passed");
    expect(result!.files_changed.map((f) => f.path)).toEqual(["src/math.ts"]);
    // A passing task is read once (id, status, files); its validation and usage are in get_task.
    const got = (await client.callTool({
      name: "get_task",
      arguments: { task_id: taskId },
    })) as CallToolResult;
    const attempt = (
      got.structuredContent as {
        attempts: { validation: { passed: boolean }; usage: { input_tokens: number } }[];
      }
    ).attempts[0]!;
    expect(attempt.validation.passed).toBe(true);
    expect(attempt.usage.input_tokens).toBeGreaterThan(0);
    expect(llm.handlerErrors).toEqual([]);
    expect(llm.requests).toHaveLength(3);
    expect(llm.requests[0]!.apiKey).toBe("x");
    expect(
      progress.length,
      "dispatch sent progress notifications over the POST's SSE stream",
    ).toBeGreaterThan(0);
    // The executor edited its worktree, never the workspace.
    expect(readFileSync(join(repo, "src/math.ts"), "utf8")).toBe(MATH);

    const ledger = ledgerLines(repo).map((line) => JSON.parse(line) as { task: string; phase: string });
    expect(ledger.filter((e) => e.task === taskId && e.phase === "execution")).toHaveLength(3);

    const report = (await client.callTool({
      name: "savings_report",
      arguments: { project: "calc" },
    })) as CallToolResult;
    expect(report.isError, textOf(report)).toBeFalsy();
    expect(report.structuredContent).toMatchObject({ log_path: "mini-projects/calc/LOG.md" });
    expect(existsSync(join(repo, "mini-projects/calc/LOG.md"))).toBe(true);

    const listed = (await client.callTool({
      name: "list_tasks",
      arguments: { project: "calc" },
    })) as CallToolResult;
    const tasks = (listed.structuredContent as { tasks: { id: string; status: string }[] }).tasks;
    expect(tasks.find((t) => t.id === taskId)?.status).toBe("passed");

    await transport.terminateSession();
    await client.close();
  });

  it("sends progress notifications for a long-running tool", async () => {
    const { client } = await connectClient(server.url);
    const progress: Progress[] = [];
    const result = (await client.callTool(
      { name: "run_validation", arguments: { commands: ["true", "echo second"] } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult;
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(progress.map((p) => [p.progress, p.total, p.message])).toEqual([
      [1, 2, "true"],
      [2, 2, "echo second"],
    ]);
    await client.close();
  });

  it("cancels a running tool when the client aborts: its process is killed", async () => {
    const { client } = await connectClient(server.url);
    const pidFile = join(repo, "sleeper.pid");
    const abort = new AbortController();
    const progress: Progress[] = [];
    const call = client.callTool(
      { name: "run_validation", arguments: { commands: ["echo $$ > sleeper.pid; exec sleep 60"] } },
      undefined,
      { onprogress: (p) => progress.push(p), signal: abort.signal },
    );
    const settled = call.then(
      () => "resolved",
      (err: Error) => err.message,
    );
    // The command's pid file and the progress notification sent as it started travel separately:
    // wait for both before checking either.
    await until(
      () => progress.length > 0 && existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n"),
    );
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(progress).toHaveLength(1);
    expect(isAlive(pid)).toBe(true);
    abort.abort(new Error("test cancels"));
    expect(await settled).toContain("test cancels");
    // The server got notifications/cancelled over HTTP and killed the command's process group.
    await until(() => !isAlive(pid));
    const after = (await client.callTool({ name: "list_tasks", arguments: {} })) as CallToolResult;
    expect(after.isError, "the session still works after a cancellation").toBeFalsy();
    await client.close();
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("Streamable HTTP: SIGTERM mid-dispatch", () => {
  let llm: FakeLlm;
  let repo: string;

  beforeAll(async () => {
    llm = await startFakeLlm();
    repo = repoWithFakeModel(llm);
  });
  afterAll(async () => {
    await llm?.close();
    removeDir(repo);
  });

  it("cancels the dispatch, records it, leaves no locked worktree or torn ledger line, and exits 0", async () => {
    // The executor edits a file, then its next model call never answers.
    llm.setHandler(scripted([editSubtract, { hang: true }]));
    const server = await startHttp(repo, { FAKE_KEY: "x" });
    let taskId: string;
    try {
      const { client } = await connectClient(server.url);
      const created = (await client.callTool({
        name: "create_mini_task",
        arguments: fullSpec(),
      })) as CallToolResult;
      expect(created.isError, textOf(created)).toBeFalsy();
      taskId = (created.structuredContent as { id: string }).id;
      const dispatch = client.callTool({ name: "dispatch_to_small_model", arguments: { task_id: taskId } });
      await until(() => llm.requests.length === 2);
      server.proc.kill("SIGTERM");
      // The client gets the dispatch's own answer, not a dropped stream.
      const answered = (await dispatch) as CallToolResult;
      const results = (
        answered.structuredContent as { results: { status: string; files_changed: unknown[] }[] }
      ).results;
      expect(results.map((r) => r.status)).toEqual(["cancelled"]);
      expect(results[0]!.files_changed).toEqual([{ path: "src/math.ts", added: 4, removed: 0 }]);
      const { code, signal } = await server.exited;
      expect({ code, signal }, server.stderr()).toEqual({ code: 0, signal: null });
      await client.close();
    } finally {
      await server.stop();
    }

    const ledger = ledgerLines(repo);
    expect(ledger.length, "the answered model call is in the ledger").toBeGreaterThan(0);
    for (const line of ledger) expect(() => JSON.parse(line), line).not.toThrow();

    const worktrees = git(repo, "worktree", "list", "--porcelain");
    expect(worktrees.split("\n").filter((l) => l.startsWith("locked"))).toEqual([]);
    expect(worktrees.split("\n").filter((l) => l.startsWith("prunable"))).toEqual([]);

    // A fresh server sees the attempt recorded as cancelled, not stuck running.
    const stdio = await startServer({ root: repo, env: { FAKE_KEY: "x" } });
    try {
      const got = await stdio.call("get_task", { task_id: taskId! });
      expect(got.isError, textOf(got)).toBeFalsy();
      expect((got.structuredContent as { status: string }).status).toBe("cancelled");
    } finally {
      await stdio.close();
    }
  }, 60_000);
});
