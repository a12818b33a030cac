import { UserError } from "../core/errors.js";

/** The disk is full, a quota or a file-size limit is reached. */
const NO_SPACE = new Set(["ENOSPC", "EDQUOT", "EFBIG"]);
/** Read-only: permissions, an immutable file, a read-only mount. */
const NOT_ALLOWED = new Set(["EACCES", "EPERM", "EROFS"]);
/** Something of the wrong kind sits where a directory or file must go. */
const IN_THE_WAY = new Set(["ENOTDIR", "EISDIR", "EEXIST"]);

/**
 * A write under the delegate dir that failed for a reason the user can fix (disk full, read-only,
 * a file in the way) as a UserError naming the path, the reason and the fix; anything else as is.
 */
export function writeFailure(path: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== "string") return err;
  // Opened with O_NOFOLLOW (the ledger): the file is a symbolic link.
  if (code === "ELOOP")
    return new UserError(
      `cannot write ${path}: it is a symbolic link (ELOOP); replace it with a regular file.`,
      "mini-projects",
    );
  const inTheWay = IN_THE_WAY.has(code);
  if (!NO_SPACE.has(code) && !NOT_ALLOWED.has(code) && !inTheWay) return err;
  // Node's text is "ENOSPC: no space left on device, write"; keep the middle.
  const reason = /^[A-Z]+: ([^,]+)/.exec((err as Error).message)?.[1] ?? code;
  const fix = inTheWay ? "move what is in the way or fix permissions" : "free space or fix permissions";
  return new UserError(`cannot write ${path}: ${reason} (${code}); ${fix}.`, "mini-projects");
}
