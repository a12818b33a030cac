import { Transform, type TransformCallback } from "node:stream";

/** The MCP SDK's own stdio limit, and the buffer size clients use: one message may be this long. */
export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/** What is known of a message that was too long to read: its size and, if found, its request id. */
export interface OversizedMessage {
  bytes: number;
  /** The JSON-RPC id when the message starts or ends with it at the top level; null otherwise. */
  id: string | number | null;
}

/** Bytes kept from each end of an oversized line, to find its id. */
const EDGE_BYTES = 256;
const ID_AT_START = /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d+|"(?:[^"\\]){0,200}")\s*,/;
// Only a top-level last key qualifies: a nested {"id":1} would be followed by a second "}".
const ID_AT_END = /,\s*"id"\s*:\s*(-?\d+|"(?:[^"\\]){0,200}")\s*\}\s*$/;

/**
 * stdin cut into whole lines for the SDK's stdio transport, none longer than `limit`. The SDK closes
 * the transport (and so the server) when one message overflows its buffer; here the too-long line is
 * skipped instead, while it arrives, keeping only its ends, and `onOversized` hears of it so the
 * server can answer it and warn. Memory stays within `limit` whatever the client sends.
 */
export class StdinLines extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Set while skipping a line that went over the limit. */
  private skipping: { bytes: number; head: Buffer; tail: Buffer } | undefined;

  constructor(
    private readonly onOversized: (message: OversizedMessage) => void,
    private readonly limit = MAX_MESSAGE_BYTES,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let rest = chunk;
    while (rest.length > 0) {
      const nl = rest.indexOf(10);
      const piece = nl === -1 ? rest : rest.subarray(0, nl + 1);
      rest = nl === -1 ? Buffer.alloc(0) : rest.subarray(nl + 1);
      this.addPiece(piece, nl !== -1);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.skipping) this.reportSkipped();
    else if (this.pendingBytes > 0) this.push(Buffer.concat(this.pending));
    done();
  }

  private addPiece(piece: Buffer, endsLine: boolean): void {
    if (!this.skipping && this.pendingBytes + piece.length > this.limit + 1) {
      const whole = Buffer.concat([...this.pending, piece]);
      this.skipping = { bytes: 0, head: whole.subarray(0, EDGE_BYTES), tail: Buffer.alloc(0) };
      this.pending = [];
      this.pendingBytes = 0;
      piece = whole;
    }
    if (this.skipping) {
      this.skipping.bytes += piece.length;
      const body = endsLine ? piece.subarray(0, -1) : piece;
      this.skipping.tail = Buffer.concat([this.skipping.tail, body]).subarray(-EDGE_BYTES);
      if (endsLine) this.reportSkipped();
      return;
    }
    this.pending.push(piece);
    this.pendingBytes += piece.length;
    if (endsLine) {
      this.push(Buffer.concat(this.pending));
      this.pending = [];
      this.pendingBytes = 0;
    }
  }

  private reportSkipped(): void {
    const { bytes, head, tail } = this.skipping!;
    this.skipping = undefined;
    const found = ID_AT_START.exec(head.toString("utf8")) ?? ID_AT_END.exec(tail.toString("utf8"));
    this.onOversized({ bytes, id: found ? (JSON.parse(found[1]!) as string | number) : null });
  }
}
