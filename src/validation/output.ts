/**
 * Bounded capture of a command's output: the first third of the byte budget is kept as the head,
 * the last two thirds as a ring-buffered tail, and everything in between is only counted. Memory
 * stays at the budget however much the command prints. The result is always valid UTF-8 text.
 */

/** What is left of a command's output once it has been bounded and cleaned. */
export interface CapturedOutput {
  /** Head, a line stating the dropped byte count when anything was dropped, then the tail. */
  text: string;
  /** Head and tail joined without the dropped-bytes line (what expectations are checked against). */
  kept: string;
  /** Raw bytes the command wrote. */
  totalBytes: number;
  /** Raw bytes not shown: the middle, plus any partial character cut at the head/tail boundary. */
  droppedBytes: number;
}

const decoder = new TextDecoder("utf-8", { fatal: false });

export class OutputCapture {
  readonly headLimit: number;
  readonly tailLimit: number;
  private readonly head: Buffer;
  private readonly tail: Buffer;
  private headLength = 0;
  /** Bytes currently in the tail ring (at most tailLimit). */
  private tailLength = 0;
  /** Where the next tail byte goes; once the ring is full it is also where the oldest byte sits. */
  private tailPos = 0;
  private total = 0;

  constructor(budgetBytes: number) {
    if (!Number.isInteger(budgetBytes) || budgetBytes < 0) {
      throw new RangeError(`output budget must be a non-negative integer, got ${budgetBytes}`);
    }
    this.headLimit = Math.floor(budgetBytes / 3);
    this.tailLimit = budgetBytes - this.headLimit;
    this.head = Buffer.alloc(this.headLimit);
    this.tail = Buffer.alloc(this.tailLimit);
  }

  /** Bytes held in memory right now; never more than the budget. */
  get retainedBytes(): number {
    return this.headLength + this.tailLength;
  }

  get totalBytes(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    let offset = 0;
    if (this.headLength < this.headLimit) {
      offset = Math.min(this.headLimit - this.headLength, chunk.length);
      this.head.set(chunk.subarray(0, offset), this.headLength);
      this.headLength += offset;
    }
    if (offset < chunk.length) this.pushTail(chunk.subarray(offset));
  }

  private pushTail(bytes: Uint8Array): void {
    const size = this.tailLimit;
    if (size === 0) return;
    if (bytes.length >= size) {
      this.tail.set(bytes.subarray(bytes.length - size));
      this.tailPos = 0;
      this.tailLength = size;
      return;
    }
    const first = Math.min(bytes.length, size - this.tailPos);
    this.tail.set(bytes.subarray(0, first), this.tailPos);
    this.tail.set(bytes.subarray(first), 0);
    this.tailPos = (this.tailPos + bytes.length) % size;
    this.tailLength = Math.min(size, this.tailLength + bytes.length);
  }

  finish(): CapturedOutput {
    let head = this.head.subarray(0, this.headLength);
    let tail =
      this.tailLength < this.tailLimit
        ? this.tail.subarray(0, this.tailLength)
        : Buffer.concat([this.tail.subarray(this.tailPos), this.tail.subarray(0, this.tailPos)]);
    const gap = this.total - this.headLength - this.tailLength;
    if (gap === 0) {
      const whole = clean(decoder.decode(Buffer.concat([head, tail])));
      return { text: whole, kept: whole, totalBytes: this.total, droppedBytes: 0 };
    }
    // A character cut in two by the gap would decode as garbage: drop its pieces on both sides.
    head = head.subarray(0, completeCharsEnd(head));
    tail = tail.subarray(continuationPrefix(tail));
    const dropped = this.total - head.length - tail.length;
    const headText = clean(decoder.decode(head));
    const tailText = clean(decoder.decode(tail));
    const separator = headText === "" || headText.endsWith("\n") ? "" : "\n";
    return {
      text: `${headText}${separator}[... ${dropped} bytes dropped ...]\n${tailText}`,
      kept: `${headText}${separator}${tailText}`,
      totalBytes: this.total,
      droppedBytes: dropped,
    };
  }
}

/** Length of `bytes` without a trailing multi-byte character whose last bytes are missing. */
export function completeCharsEnd(bytes: Uint8Array): number {
  let start = bytes.length - 1;
  // Walk back over at most 3 continuation bytes (10xxxxxx) to the lead byte of the last character.
  while (start >= 0 && bytes.length - start <= 3 && (bytes[start] & 0xc0) === 0x80) start--;
  if (start < 0) return bytes.length;
  const needed = sequenceLength(bytes[start]);
  return needed > 1 && start + needed > bytes.length ? start : bytes.length;
}

/** How many leading continuation bytes (the rest of a character whose start was cut) to skip. */
export function continuationPrefix(bytes: Uint8Array): number {
  let n = 0;
  while (n < 3 && n < bytes.length && (bytes[n] & 0xc0) === 0x80) n++;
  return n;
}

function sequenceLength(lead: number): number {
  if ((lead & 0xe0) === 0xc0) return 2;
  if ((lead & 0xf0) === 0xe0) return 3;
  if ((lead & 0xf8) === 0xf0) return 4;
  return 1;
}

// ANSI escape sequences (colours, cursor moves, OSC titles) carry no information for a model.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const ANSI_SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;
// Every C0/C1 control character except \t and \n (carriage returns are handled before this).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** Text fit for a model: no escape sequences, no NULs or other control characters, LF line ends. */
export function clean(text: string): string {
  return text.replace(ANSI_SEQUENCE, "").replace(/\r\n/g, "\n").replace(/\r/g, "\n").replace(CONTROL, "");
}
