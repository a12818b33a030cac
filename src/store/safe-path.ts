import { lstat, readlink, realpath } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { shown, UserError } from "../core/errors.js";

export interface SafePath {
  /** Absolute path inside the workspace, symlinks resolved. */
  abs: string;
  /** The same path relative to the workspace root, with "/" separators. */
  rel: string;
}

const MAX_LINKS = 40;
/** Unicode's bidirectional formatting characters (LRM, RLM, ALM, embeddings, overrides, isolates). */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Whether `p` is `root` or below it (lexically; "..cache" is inside, "../x" is not). */
export function isWithin(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === "" || (!r.startsWith(`..${sep}`) && r !== ".." && !isAbsolute(r));
}

function refuse(field: string, path: string, reason: string): never {
  throw new UserError(`${field} "${shown(path)}" is refused: ${reason}.`, field);
}

/** Syntactic checks that need no disk access. */
function checkSyntax(path: string, field: string): void {
  if (typeof path !== "string" || path.length === 0) refuse(field, String(path), "it is empty");
  if (path.includes("\0")) refuse(field, path, "it contains a NUL byte");
  if (path.length > 4096) refuse(field, path, "it is longer than 4096 characters");
  if (/^~/.test(path))
    refuse(field, path, "home-directory paths (~) are outside the workspace; give a path relative to it");
  if (/^[A-Za-z]:/.test(path) || path.includes("\\"))
    refuse(field, path, "Windows-style paths are not accepted; use a relative path with /");
  if (/\s$|^\s/.test(path)) refuse(field, path, "it starts or ends with whitespace");
  if (/["'`]$|^["'`]/.test(path)) refuse(field, path, "it starts or ends with a quote");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(path)) refuse(field, path, "it contains a control character");
  // A right-to-left override can make "txt.exe" read as "exe.txt" in a review.
  if (BIDI_CONTROLS.test(path))
    refuse(field, path, "it contains a bidirectional control character, which can disguise a name");
}

/**
 * Resolve `path` (relative to `root`, or absolute inside it) to a real location inside the
 * workspace, following every symlink along the way — including dangling ones, whose target is
 * checked even though it does not exist. Throws a UserError naming the path and the reason.
 * `root` must already be a real path (see resolveWorkspace).
 */
export async function safePath(root: string, path: string, field = "path"): Promise<SafePath> {
  checkSyntax(path, field);
  const lexical = isAbsolute(path) ? resolve(path) : resolve(root, path);
  if (!isWithin(root, lexical)) {
    refuse(
      field,
      path,
      isAbsolute(path) ? "it is an absolute path outside the workspace" : "it escapes the workspace",
    );
  }
  const abs = await followLinks(root, lexical, path, field);
  return { abs, rel: relative(root, abs).split(sep).join("/") };
}

async function followLinks(root: string, target: string, original: string, field: string): Promise<string> {
  let hops = 0;
  // Walk component by component from the root, replacing each symlink by its target.
  let pending = relative(root, target).split(sep).filter(Boolean);
  let current = root;
  while (pending.length > 0) {
    const part = pending.shift()!;
    const next = join(current, part);
    let isLink = false;
    try {
      isLink = (await lstat(next)).isSymbolicLink();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        // Nothing below a missing component can be a symlink: the rest is literal.
        const rest = join(next, ...pending);
        if (!isWithin(root, rest)) refuse(field, original, "it escapes the workspace");
        return rest;
      }
      if (code === "ENAMETOOLONG")
        refuse(field, original, "a name in it is longer than the file system allows");
      throw err;
    }
    if (!isLink) {
      current = next;
      continue;
    }
    if (++hops > MAX_LINKS) refuse(field, original, "it has too many levels of symbolic links");
    const linkTarget = resolve(dirname(next), await readlink(next));
    if (!isWithin(root, linkTarget)) {
      refuse(
        field,
        original,
        `it is a symlink (via ${relative(root, next)}) to ${linkTarget}, outside the workspace`,
      );
    }
    pending = [...relative(root, linkTarget).split(sep).filter(Boolean), ...pending];
    current = root;
  }
  if (!isWithin(root, current)) refuse(field, original, "it escapes the workspace");
  return current;
}

/** The workspace root as a real path (symlinks resolved), so prefix checks compare like with like. */
export async function realRoot(root: string): Promise<string> {
  return realpath(resolve(root));
}

/**
 * Paths the executor may never write, whatever its spec says: git internals and filters, MCP and
 * Claude configuration, this server's config, and its own task and ledger files.
 */
export function protectedReason(rel: string, delegateDir: string): string | null {
  // Lower-cased: on case-insensitive file systems (macOS, Windows) ".GIT/config" is ".git/config".
  const p = rel.replace(/^\.\/+/, "").toLowerCase();
  const parts = p.split("/");
  const first = parts[0] ?? "";
  const base = parts[parts.length - 1] ?? "";
  if (parts.includes(".git")) return "git internals are never written by the executor";
  if (base === ".gitattributes" || base === ".gitmodules")
    return "git attribute and module files can run filters; the executor never writes them";
  if (p === ".mcp.json" || first === ".claude" || first === ".cursor" || first === ".vscode")
    return "client configuration is never written by the executor";
  if (p === "delegate.config.json") return "the server's configuration is never written by the executor";
  const dir = delegateDir.replace(/\/+$/, "").toLowerCase();
  if (p === dir || p.startsWith(`${dir}/`))
    return "task specs and the ledger are never written by the executor";
  return null;
}
