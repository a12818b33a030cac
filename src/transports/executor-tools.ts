/**
 * `delegate-mcp executor-tools --attempt <file>`: the stdio MCP server an agent CLI (claude -p)
 * starts as its only tool source. It offers exactly the executor's five tools and forwards every
 * call to the dispatching server's bridge (executor/tool-bridge.ts), which applies the attempt's scope.
 */
import { readFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { messageOf } from "../core/errors.js";
import { EXECUTOR_TOOLS } from "../core/executor-tools.js";
import {
  type AttemptFile,
  type BridgeReply,
  type BridgeRequest,
  TOOL_SERVER_NAME,
} from "../executor/tool-bridge.js";

class BridgeClient {
  private socket: Socket | undefined;
  private next = 1;
  private readonly pending = new Map<number, (reply: BridgeReply) => void>();
  private buffered = "";

  constructor(private readonly attempt: AttemptFile) {}

  private connect(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const s = connect(this.attempt.socket);
      s.setEncoding("utf8");
      s.once("connect", () => {
        this.socket = s;
        resolve(s);
      });
      s.once("error", reject);
      s.on("data", (chunk: string) => {
        this.buffered += chunk;
        let nl = this.buffered.indexOf("\n");
        while (nl >= 0) {
          const reply = JSON.parse(this.buffered.slice(0, nl)) as BridgeReply;
          this.buffered = this.buffered.slice(nl + 1);
          nl = this.buffered.indexOf("\n");
          this.pending.get(reply.id)?.(reply);
          this.pending.delete(reply.id);
        }
      });
      s.on("close", () => {
        for (const [id, done] of this.pending)
          done({ id, content: "The attempt has ended; stop now.", isError: true });
        this.pending.clear();
      });
    });
  }

  async call(name: string, args: Record<string, unknown>): Promise<BridgeReply> {
    const socket = await this.connect();
    const id = this.next++;
    const request: BridgeRequest = { token: this.attempt.token, id, name, arguments: args };
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      socket.write(`${JSON.stringify(request)}\n`);
    });
  }

  close(): void {
    this.socket?.destroy();
  }
}

export async function serveExecutorTools(attemptPath: string): Promise<void> {
  const [{ Server }, { StdioServerTransport }, types] = await Promise.all([
    import("@modelcontextprotocol/sdk/server/index.js"),
    import("@modelcontextprotocol/sdk/server/stdio.js"),
    import("@modelcontextprotocol/sdk/types.js"),
  ]);
  const attempt = JSON.parse(await readFile(attemptPath, "utf8")) as AttemptFile;
  const bridge = new BridgeClient(attempt);
  const server = new Server({ name: TOOL_SERVER_NAME, version: "1" }, { capabilities: { tools: {} } });
  server.setRequestHandler(types.ListToolsRequestSchema, async () => ({
    tools: EXECUTOR_TOOLS.map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: t.inputSchema as { type: "object" },
    })),
  }));
  server.setRequestHandler(types.CallToolRequestSchema, async (req) => {
    let reply: BridgeReply;
    try {
      reply = await bridge.call(req.params.name, req.params.arguments ?? {});
    } catch (err) {
      reply = {
        id: 0,
        content: `The attempt is not reachable (${messageOf(err)}); stop now.`,
        isError: true,
      };
    }
    return { content: [{ type: "text" as const, text: reply.content }], isError: reply.isError };
  });
  const transport = new StdioServerTransport();
  const stop = () => {
    bridge.close();
    process.exit(0);
  };
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  transport.onclose = stop;
  await server.connect(transport);
}
