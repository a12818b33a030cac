/**
 * A mistake the caller can fix. Tool handlers turn it into an `isError` result whose text is
 * `message`: one sentence naming the field and the fix. Anything else thrown is a bug.
 */
export class UserError extends Error {
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super(message);
    this.name = "UserError";
    this.field = field;
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

/** The message of anything thrown, without a stack. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * The caller's text as an error quotes it: control characters made visible (NUL as \0), long text
 * cut in the middle, so an error stays one short line whatever was sent.
 */
export function shown(text: string, max = 80): string {
  const visible = text
    .replaceAll("\0", "\\0")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: making control characters visible is the point
    .replace(/[\u0001-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1))
    // Bidirectional controls would reorder the error text itself.
    .replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  if (visible.length <= max) return visible;
  const head = Math.ceil((max - 1) * 0.75);
  return `${visible.slice(0, head)}…${visible.slice(visible.length - (max - 1 - head))}`;
}
