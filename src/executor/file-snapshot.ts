/**
 * The bytes, mode or absence of a set of working-tree files, kept before a write so a failure
 * midway can put every one of them back.
 */
import {
  chmod,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rm,
  rmdir,
  symlink,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import { isWithin } from "../store/safe-path.js";

export type Snapshot =
  | { path: string; kind: "absent" }
  | { path: string; kind: "file"; bytes: Buffer; mode: number }
  | {
      path: string;
      kind: "symlink";
      target: string;
    };

export async function snapshot(root: string, paths: string[]): Promise<Snapshot[]> {
  const shots: Snapshot[] = [];
  for (const p of paths) {
    const abs = path.join(root, p);
    const st = await lstat(abs).catch(() => null);
    if (st === null) shots.push({ path: p, kind: "absent" });
    else if (st.isSymbolicLink()) shots.push({ path: p, kind: "symlink", target: await readlink(abs) });
    else if (st.isFile())
      shots.push({ path: p, kind: "file", bytes: await readFile(abs), mode: st.mode & 0o7777 });
  }
  return shots;
}

/** Puts every snapshotted path back to its previous bytes, mode or absence. */
export async function restore(root: string, shots: Snapshot[]): Promise<void> {
  for (const shot of shots) {
    const abs = path.join(root, shot.path);
    const st = await lstat(abs).catch(() => null);
    if (shot.kind === "absent") {
      if (st !== null) {
        await rm(abs, { recursive: true, force: true });
        await removeEmptyDirs(path.dirname(abs), root);
      }
      continue;
    }
    if (await unchanged(abs, shot)) continue;
    if (st !== null && (shot.kind === "symlink" || !st.isFile()))
      await rm(abs, { recursive: true, force: true });
    await mkdir(path.dirname(abs), { recursive: true });
    if (shot.kind === "symlink") {
      await symlink(shot.target, abs);
    } else {
      await writeFile(abs, shot.bytes);
      await chmod(abs, shot.mode);
    }
  }
}

async function unchanged(abs: string, shot: Snapshot): Promise<boolean> {
  const st = await lstat(abs).catch(() => null);
  if (st === null || shot.kind === "absent") return st === null && shot.kind === "absent";
  if (shot.kind === "symlink") return st.isSymbolicLink() && (await readlink(abs)) === shot.target;
  return st.isFile() && (st.mode & 0o7777) === shot.mode && (await readFile(abs)).equals(shot.bytes);
}

/** Deletes `dir` and its parents while they are empty, stopping at `root`. */
export async function removeEmptyDirs(dir: string, root: string): Promise<void> {
  let current = dir;
  while (isWithin(root, path.resolve(current)) && current !== root) {
    const entries = await readdir(current).catch(() => null);
    if (entries === null || entries.length > 0) return;
    await rmdir(current).catch(() => {});
    current = path.dirname(current);
  }
}
