/**
 * Streamable HTTP: one MCP server per session, behind DNS-rebinding (Host/Origin) and bearer-token
 * checks that run before any request body is read, and a request body limit.
 * The request guards (Host/Origin, token, body) are http-guards.ts; sessions, their cap and idle
 * timeout, and shutdown are here.
 */
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
} from "@modelcontextprotocol/sdk/types.js";
import { messageOf } from "../core/errors.js";
import { isLoopbackHost } from "../core/net.js";
import { log } from "../log.js";
import { createServer, type DelegateServer } from "../server.js";
import {
  allowedHosts,
  checkHostAndOrigin,
  HttpError,
  hostPort,
  isInitialize,
  parseJson,
  readBody,
  sendError,
  TOKEN_ENV,
  tokenCheck,
} from "./http-guards.js";

export const MCP_PATH = "/mcp";
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** How long shutdown waits for answers already due (e.g. a dispatch it cancelled) to reach their clients. */
const DELIVERY_GRACE_MS = 2000;

export interface HttpServeOptions {
  port: number;
  host: string;
  root?: string | undefined;
  env: NodeJS.ProcessEnv;
  maxBodyBytes?: number;
  /** A session with no request for this long, and no work running, is closed (default 30 min). */
  idleTimeoutMs?: number;
  /** Open sessions kept at most; one more initialize gets a 503 (default 100). */
  maxSessions?: number;
  /** A request whose head and body have not all arrived by then gets a 408 (default 60 s). */
  requestTimeoutMs?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60_000;
/** An idle session costs ~35 KB; a hundred is more than any set of local clients opens. */
export const DEFAULT_MAX_SESSIONS = 100;
/** A local client sends even a 4 MB body in well under a second; a trickling one is not a client. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

export interface RunningHttpServer {
  /** http://host:port/mcp, with the real port when 0 was asked for. */
  url: string;
  port: number;
  /** Stop accepting, cancel running work so it records itself, close every session and the listener. */
  close(): Promise<void>;
}

type MessageHandler = (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

/**
 * The SDK transport, except that when the server closes it, requests still awaiting their response
 * get up to DELIVERY_GRACE_MS to send it first: shutdown cancels a dispatch, the dispatch records
 * itself and answers "cancelled", and that answer reaches the client instead of a dropped stream.
 */
class DeliveringTransport extends StreamableHTTPServerTransport {
  private readonly unanswered = new Set<RequestId>();
  private answered: (() => void) | undefined;

  override set onmessage(handler: MessageHandler | undefined) {
    super.onmessage =
      handler &&
      ((message, extra) => {
        if (isJSONRPCRequest(message)) this.unanswered.add(message.id);
        // A cancelled request gets no response (MCP spec), so nothing is owed for it.
        if (isJSONRPCNotification(message) && message.method === "notifications/cancelled")
          this.settle((message.params as { requestId?: RequestId } | undefined)?.requestId);
        handler(message, extra);
      });
  }

  override get onmessage(): MessageHandler | undefined {
    return super.onmessage;
  }

  override async send(...args: Parameters<StreamableHTTPServerTransport["send"]>): Promise<void> {
    const [message] = args;
    try {
      await super.send(...args);
    } finally {
      if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) this.settle(message.id);
    }
  }

  override async close(): Promise<void> {
    if (this.unanswered.size > 0) {
      await new Promise<void>((resolve) => {
        this.answered = resolve;
        setTimeout(resolve, DELIVERY_GRACE_MS).unref();
      });
    }
    await super.close();
  }

  private settle(id: RequestId | undefined): void {
    if (id === undefined) return;
    this.unanswered.delete(id);
    if (this.unanswered.size === 0) this.answered?.();
  }
}

interface Session {
  transport: DeliveringTransport;
  delegate: DelegateServer;
  closed?: Promise<void>;
  /** When the session last received a request or finished answering one. */
  lastSeen: number;
  /** Requests still being answered (an open GET stream counts): never idle while any is open. */
  open: number;
}

function finished(responses: Set<ServerResponse>, withinMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, withinMs);
    timer.unref();
    const check = () => {
      if (responses.size > 0) return;
      clearTimeout(timer);
      resolve();
    };
    for (const res of responses) res.once("close", check);
    check();
  });
}

function listen(server: ReturnType<typeof createHttpServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why =
        err.code === "EADDRINUSE"
          ? `port ${port} on ${host} is already in use; pick another with --port (0 picks a free one)`
          : err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND"
            ? `${host} is not an address of this machine; use --host 127.0.0.1`
            : messageOf(err);
      reject(new Error(`Cannot serve MCP over HTTP: ${why}.`));
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** Serve MCP over Streamable HTTP at /mcp. Rejects (refuses to start) on an unsafe configuration. */
export async function serveHttp(opts: HttpServeOptions): Promise<RunningHttpServer> {
  const limit = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const token = opts.env[TOKEN_ENV] || undefined;
  if (!isLoopbackHost(opts.host) && !token) {
    throw new Error(
      `Refusing to serve MCP over HTTP on ${opts.host}: a non-loopback address needs a bearer token. ` +
        `Set ${TOKEN_ENV} (e.g. to the output of \`openssl rand -hex 32\`) or bind --host 127.0.0.1.`,
    );
  }
  const checkToken = tokenCheck(token);
  const sessions = new Map<string, Session>();
  const closing = new Set<Promise<void>>();
  const responses = new Set<ServerResponse>();
  let allowed = new Set<string>();
  let stopping: Promise<void> | undefined;
  const maxSessions = opts.maxSessions ?? DEFAULT_MAX_SESSIONS;
  /** Sessions being initialized: counted against the cap before they have an id. */
  let opening = 0;

  const closeSession = (session: Session): Promise<void> => {
    session.closed ??= (async () => {
      if (session.transport.sessionId) sessions.delete(session.transport.sessionId);
      await session.delegate.cleanup().catch((err) => log.error(`session cleanup failed: ${messageOf(err)}`));
    })();
    closing.add(session.closed);
    void session.closed.finally(() => closing.delete(session.closed!));
    return session.closed;
  };

  const openSession = async (): Promise<Session> => {
    const delegate = createServer({ root: opts.root, env: opts.env });
    const transport = new DeliveringTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        sessions.set(id, session);
        log.debug(`http session ${id} opened`);
      },
      maxRequestBodySize: limit,
    });
    const session: Session = { transport, delegate, lastSeen: Date.now(), open: 0 };
    transport.onclose = () => void closeSession(session);
    transport.onerror = (err) => log.debug(`http transport: ${messageOf(err)}`);
    await delegate.server.connect(transport);
    return session;
  };

  const sessionOf = (req: IncomingMessage, res: ServerResponse): Session => {
    const id = req.headers["mcp-session-id"];
    if (typeof id !== "string" || id === "")
      throw new HttpError(400, "Bad Request: Mcp-Session-Id header is required (initialize first).");
    const session = sessions.get(id);
    if (!session) throw new HttpError(404, "Session not found: initialize a new session.", -32001);
    session.lastSeen = Date.now();
    session.open++;
    res.once("close", () => {
      session.open--;
      session.lastSeen = Date.now();
    });
    return session;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (stopping) throw new HttpError(503, "Service Unavailable: the server is shutting down.");
    checkHostAndOrigin(req, allowed);
    checkToken?.(req);
    if (new URL(req.url ?? "/", "http://localhost").pathname !== MCP_PATH)
      throw new HttpError(404, `Not Found: MCP is served at ${MCP_PATH}.`);
    if (req.method === "GET" || req.method === "DELETE") {
      await sessionOf(req, res).transport.handleRequest(req, res);
      return;
    }
    if (req.method !== "POST") throw new HttpError(405, "Method Not Allowed: use POST, GET or DELETE.");
    const message = parseJson(await readBody(req, limit));
    if (req.headers["mcp-session-id"] !== undefined || !isInitialize(message)) {
      await sessionOf(req, res).transport.handleRequest(req, res, message);
      return;
    }
    if (sessions.size + opening >= maxSessions)
      throw new HttpError(
        503,
        `Service Unavailable: ${maxSessions} sessions are open, the most this server keeps; ` +
          "close one (DELETE /mcp with its Mcp-Session-Id) or retry after idle ones expire.",
      );
    opening++;
    try {
      const session = await openSession();
      await session.transport.handleRequest(req, res, message);
      // An initialize the transport refused never got a session id: nothing will reach it again.
      if (!session.transport.sessionId) await closeSession(session);
    } finally {
      opening--;
    }
  };

  const requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const server = createHttpServer(
    {
      // Node answers 408 and drops a request not fully received by then (it would wait 300 s).
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(requestTimeoutMs, 60_000),
      // How often Node looks for such requests; its default (30 s) would stretch short timeouts.
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(requestTimeoutMs / 4))),
    },
    (req, res) => {
      responses.add(res);
      res.once("close", () => responses.delete(res));
      handle(req, res).catch((err: unknown) => {
        if (err instanceof HttpError) {
          if (err.status >= 500 || err.status === 403 || err.status === 401)
            log.warn(`http ${req.method} ${req.url}: ${err.status} ${err.message}`);
          sendError(res, err);
          return;
        }
        log.error(`http ${req.method} ${req.url} failed: ${messageOf(err)}`, {
          stack: (err as Error)?.stack,
        });
        sendError(res, new HttpError(500, `Internal error: ${messageOf(err)}`, -32603));
      });
    },
  );

  // Clients that vanish without DELETE would otherwise hold their session (and its server) forever.
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const session of sessions.values()) {
        if (session.open === 0 && now - session.lastSeen >= idleMs && !session.delegate.state.busy()) {
          log.debug(`http session ${session.transport.sessionId} idle for ${idleMs} ms; closing it`);
          void session.transport.close().catch(() => {});
          void closeSession(session);
        }
      }
    },
    Math.max(50, Math.min(60_000, Math.floor(idleMs / 4))),
  );
  sweeper.unref();

  await listen(server, opts.port, opts.host);
  const port = (server.address() as AddressInfo).port;
  allowed = allowedHosts(opts.host, port);
  const url = `http://${hostPort(opts.host, port)}${MCP_PATH}`;

  return {
    url,
    port,
    close() {
      stopping ??= (async () => {
        clearInterval(sweeper);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.allSettled([...sessions.values()].map(closeSession));
        await Promise.allSettled([...closing]);
        // Closed sessions have ended their streams: let those last bytes go out before cutting connections.
        await finished(responses, DELIVERY_GRACE_MS);
        server.closeAllConnections();
        await stopped;
      })();
      return stopping;
    },
  };
}
