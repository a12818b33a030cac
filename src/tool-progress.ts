/**
 * MCP progress for one tool call, delivered before the call's result. The SDK client runs a
 * notification's handler a microtask after reading it but settles a response at once, dropping
 * progress read together with the response ("unknown token"). So a call that sent progress makes
 * one ping round trip before its result: the client answers a request only after handling every
 * message it read before it, so by then the last progress has reached the caller.
 */
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  EmptyResultSchema,
  type ServerNotification,
  type ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { messageOf } from "./core/errors.js";
import { log } from "./log.js";

/** How long the result waits for the client's answer to the ping before going out anyway. */
const PING_TIMEOUT_MS = 5000;

export interface ToolProgress {
  /** Sends a progress notification when the client asked for them; a no-op otherwise. In order. */
  send(progress: number, total?: number, message?: string): Promise<void>;
  /** Settles once the client has handled every notification sent (or did not answer in time). */
  delivered(): Promise<void>;
}

export function toolProgress(extra: RequestHandlerExtra<ServerRequest, ServerNotification>): ToolProgress {
  const progressToken = extra._meta?.progressToken;
  let sent: Promise<void> = Promise.resolve();
  let any = false;
  return {
    send(progress, total, message) {
      if (progressToken === undefined) return Promise.resolve();
      any = true;
      sent = sent.then(() =>
        extra
          .sendNotification({
            method: "notifications/progress",
            params: {
              progressToken,
              progress,
              ...(total !== undefined ? { total } : {}),
              ...(message ? { message } : {}),
            },
          })
          .catch((err) => log.debug(`progress notification failed: ${messageOf(err)}`)),
      );
      return sent;
    },
    async delivered() {
      await sent;
      if (!any || extra.signal.aborted) return;
      await extra
        .sendRequest({ method: "ping" }, EmptyResultSchema, { timeout: PING_TIMEOUT_MS })
        .catch((err) => log.debug(`ping after progress unanswered: ${messageOf(err)}`));
    },
  };
}
