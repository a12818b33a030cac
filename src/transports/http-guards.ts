/**
 * The guards in front of the HTTP transport's one request path: Host/Origin (DNS rebinding), the
 * bearer token, the body limit and its reader, JSON parsing, and the JSON-RPC error they answer with.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { bareHost, isLoopbackHost } from "../core/net.js";

export const TOKEN_ENV = "DELEGATE_HTTP_TOKEN";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = -32000,
    /** Answer, then drop the connection (the client is still sending more than we will read). */
    readonly hangUp = false,
  ) {
    super(message);
  }
}

/** host:port as it appears in a Host header (IPv6 in brackets). */
export function hostPort(host: string, port: number): string {
  const h = bareHost(host);
  return `${isIP(h) === 6 ? `[${h}]` : h}:${port}`;
}

/**
 * The Host values a legitimate client sends: the bound address, loopback names on a loopback bind,
 * and this machine's addresses and name on a wildcard bind (a rebinding attacker's page sends its
 * own domain name, which is never in this list).
 */
export function allowedHosts(host: string, port: number): Set<string> {
  const h = bareHost(host);
  const names = [h];
  if (isLoopbackHost(h) || h === "0.0.0.0" || h === "::") names.push("localhost", "127.0.0.1", "::1");
  if (h === "0.0.0.0" || h === "::") {
    names.push(hostname());
    for (const addrs of Object.values(networkInterfaces())) {
      for (const a of addrs ?? []) names.push(a.address.replace(/%.*$/, ""));
    }
  }
  const allowed = new Set<string>();
  for (const name of names) {
    allowed.add(hostPort(name, port));
    // Browsers and most clients leave the default port out of Host and Origin.
    if (port === 80) allowed.add(hostPort(name, port).replace(/:80$/, ""));
  }
  return allowed;
}

export function checkHostAndOrigin(req: IncomingMessage, allowed: Set<string>): void {
  const host = (req.headers.host ?? "").toLowerCase();
  if (!allowed.has(host))
    throw new HttpError(403, `Forbidden: Host "${req.headers.host ?? ""}" is not this server's address.`);
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || !allowed.has(url.host.toLowerCase()))
    throw new HttpError(403, `Forbidden: Origin "${origin}" may not call this server.`);
}

export function tokenCheck(token: string | undefined): ((req: IncomingMessage) => void) | undefined {
  if (!token) return undefined;
  // Hashing both sides gives equal-length buffers, so the comparison time never depends on the guess.
  const expected = createHash("sha256").update(token).digest();
  return (req) => {
    const given = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? "")?.[1];
    const digest = createHash("sha256")
      .update(given ?? "")
      .digest();
    if (!timingSafeEqual(digest, expected) || given === undefined)
      throw new HttpError(401, `Unauthorized: send "Authorization: Bearer <${TOKEN_ENV}>".`);
  };
}

export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (err.status === 401) headers["www-authenticate"] = 'Bearer realm="delegate-mcp"';
  if (err.status === 405) headers.allow = "GET, POST, DELETE";
  if (err.hangUp) headers.connection = "close";
  res.writeHead(err.status, headers);
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: err.code, message: err.message }, id: null }));
}

export function tooLarge(limit: number, hangUp = false): HttpError {
  return new HttpError(
    413,
    `Payload Too Large: the request body must not exceed ${limit} bytes.`,
    -32000,
    hangUp,
  );
}

/**
 * The body, counted as it arrives; nothing past `limit` is kept. An over-limit body is still read
 * to its end (and discarded) up to twice the limit, so the client is done sending and reads the 413
 * instead of a reset connection; beyond that, or when Content-Length already says so, the 413 comes
 * at once and the connection is dropped.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (declared > 2 * limit) {
      reject(tooLarge(limit, true));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > 2 * limit) {
        req.pause();
        reject(tooLarge(limit, true));
      } else if (received <= limit) {
        chunks.push(chunk);
      }
    });
    req.once("end", () => {
      if (received > limit || declared > limit) reject(tooLarge(limit));
      else resolve(Buffer.concat(chunks));
    });
    // A client that hangs up mid-body, or one timed out by requestTimeout ("aborted"): settle (a
    // no-op once "end" has settled it). Neither is the server's failure.
    const cutOff = () => reject(new HttpError(400, "Bad Request: the request body was cut off."));
    req.once("error", cutOff);
    req.once("close", cutOff);
  });
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "Parse error: the request body is not JSON.", -32700);
  }
}

export function isInitialize(message: unknown): boolean {
  return Array.isArray(message) ? message.some((m) => isInitializeRequest(m)) : isInitializeRequest(message);
}
