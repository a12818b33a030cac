/**
 * Reading and writing index entries without disturbing the user: trees built in a scratch index
 * (GIT_INDEX_FILE), tree and index entries of a set of paths, and setting or restoring the user's
 * own index entries for exactly those paths.
 */
import { lstat } from "node:fs/promises";
import path from "node:path";
import { git, splitNul } from "./git.js";

/**
 * Builds, in the index `env` names, HEAD with `paths` as the working tree has them (what `git add`
 * would stage: clean filters and core.fileMode apply); a path that is missing or a directory there
 * counts as deleted. Writes the blobs, never the user's index. Returns the tree.
 */
export async function workingTreeState(
  root: string,
  head: string,
  paths: string[],
  env: Record<string, string>,
): Promise<string> {
  await git(root, ["read-tree", head], { env });
  const present: string[] = [];
  const absent: string[] = [];
  for (const p of paths) {
    const st = await lstat(path.join(root, p)).catch(() => null);
    if (st !== null && (st.isFile() || st.isSymbolicLink())) present.push(p);
    else absent.push(p);
  }
  const nul = (list: string[]) => `${list.join("\0")}\0`;
  if (absent.length > 0) {
    await git(root, ["update-index", "-z", "--force-remove", "--stdin"], { env, input: nul(absent) });
  }
  if (present.length > 0) {
    await git(root, ["update-index", "-z", "--add", "--replace", "--stdin"], { env, input: nul(present) });
  }
  return (await git(root, ["write-tree"], { env })).stdout.trim();
}

/** "mode blob" of each of `paths` in `tree` (absent paths are missing from the map). */
export async function treeEntries(root: string, tree: string, paths: string[]): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  if (paths.length === 0) return entries;
  const out = await git(root, ["ls-tree", "-r", "-z", "--full-tree", tree, "--", ...paths]);
  for (const line of splitNul(out.stdout)) {
    const tab = line.indexOf("\t");
    const [mode, , blob] = line.slice(0, tab).split(" ");
    entries.set(line.slice(tab + 1), `${mode} ${blob}`);
  }
  return entries;
}

/** The user's index entries for `paths`, as `ls-files -s` records ("mode blob stage\tpath"). */
export async function indexRecords(root: string, paths: string[]): Promise<string[]> {
  if (paths.length === 0) return [];
  return splitNul((await git(root, ["ls-files", "-s", "-z", "--", ...paths])).stdout);
}

/** Sets the user's index entries of `paths` to `tree`'s (removing those it does not have). */
export async function setIndexEntries(root: string, tree: string, paths: string[], oidLength: number) {
  const entries = await treeEntries(root, tree, paths);
  const removals = paths.map((p) => `0 ${"0".repeat(oidLength)}\t${p}`);
  const additions = [...entries].map(([p, entry]) => `${entry}\t${p}`);
  await git(root, ["update-index", "-z", "--index-info"], {
    input: `${[...removals, ...additions].join("\0")}\0`,
  });
}

/** Puts the user's index entries of `paths` back to `records` (from indexRecords). */
export async function restoreIndexEntries(
  root: string,
  paths: string[],
  records: string[],
  oidLength: number,
) {
  const removals = paths.map((p) => `0 ${"0".repeat(oidLength)}\t${p}`);
  await git(root, ["update-index", "-z", "--index-info"], {
    input: `${[...removals, ...records].join("\0")}\0`,
    okExitCodes: [0, 1, 128],
  });
}
