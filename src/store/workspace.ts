import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { shown, UserError } from "../core/errors.js";
import { realRoot, safePath } from "./safe-path.js";

export const DEFAULT_DELEGATE_DIR = "mini-projects";

export interface Workspace {
  /** Real absolute path of the workspace root. */
  root: string;
  /** Where specs, reports and the ledger live, relative to root (DELEGATE_DIR, default mini-projects). */
  dirRel: string;
  /** The same, absolute. */
  dir: string;
  /** How the root was chosen, for diagnostics. */
  source: "flag" | "env" | "roots" | "cwd";
}

export interface WorkspaceSources {
  /** --root */
  flag?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Asks the client for its MCP roots; resolves to undefined when the client has none. */
  listRoots?: () => Promise<string[] | undefined>;
  cwd?: string;
}

/** The first file:// root a client announced, as a path. */
export function firstFileRoot(uris: string[]): string | undefined {
  for (const uri of uris) {
    if (uri.startsWith("file://")) {
      try {
        return fileURLToPath(uri);
      } catch {}
    }
  }
  return undefined;
}

/** Why the chosen workspace is refused, and the fix that fits where it came from. */
const notADirectory: Record<Workspace["source"], (path: string) => string> = {
  flag: (p) => `--root "${shown(p)}" is not a directory; give the path of your repository`,
  env: (p) => `DELEGATE_ROOT "${shown(p)}" is not a directory; set it to your repository or unset it`,
  roots: (p) =>
    `the client's project directory "${shown(p)}" is not a directory here; start the server with --root DIR`,
  cwd: (p) => `the working directory "${shown(p)}" is not a directory; start the server with --root DIR`,
};

/** --root / DELEGATE_ROOT, else the client's first file:// root, else the cwd (DESIGN "Words"). */
export async function resolveWorkspace(src: WorkspaceSources): Promise<Workspace> {
  const env = src.env ?? process.env;
  let chosen: { path: string; source: Workspace["source"] } | undefined;
  if (src.flag) chosen = { path: src.flag, source: "flag" };
  else if (env.DELEGATE_ROOT) chosen = { path: env.DELEGATE_ROOT, source: "env" };
  else if (src.listRoots) {
    const roots = await src.listRoots().catch(() => undefined);
    const first = roots && firstFileRoot(roots);
    if (first) chosen = { path: first, source: "roots" };
  }
  chosen ??= { path: src.cwd ?? process.cwd(), source: "cwd" };

  let root: string;
  try {
    root = await realRoot(chosen.path);
    if (!(await stat(root)).isDirectory()) throw new Error("not a directory");
  } catch {
    throw new UserError(`${notADirectory[chosen.source](chosen.path)}.`, "workspace");
  }
  const dirRel = (env.DELEGATE_DIR || DEFAULT_DELEGATE_DIR).replace(/^\.\/+|\/+$/g, "");
  // Only plain segments: "." or "a//b" would make the protected-path check (safe-path.ts) miss the dir.
  if (dirRel.startsWith("/") || dirRel.split("/").some((s) => s === "" || s === "." || s === "..")) {
    throw new UserError(
      `DELEGATE_DIR "${env.DELEGATE_DIR}" must be a relative path inside the workspace, like mini-projects or .delegate/tasks.`,
      "DELEGATE_DIR",
    );
  }
  const ws: Workspace = { root, dirRel, dir: `${root}/${dirRel}`, source: chosen.source };
  // A repository can ship mini-projects as a symlink: nothing may be written through it to outside.
  await storePath(ws);
  return ws;
}

/**
 * A path under the delegate dir (`storePath(ws, project, ".seq")`), checked like every other path:
 * a symlink on the way that leads outside the workspace is refused. Returns the resolved path.
 */
export async function storePath(ws: Workspace, ...segments: string[]): Promise<string> {
  return (await safePath(ws.root, [ws.dirRel, ...segments].join("/"), "delegate dir")).abs;
}
