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
