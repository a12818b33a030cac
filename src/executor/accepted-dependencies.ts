/**
 * Accepting a task that was built on other tasks (depends_on) after they were accepted without
 * commit: which uncommitted changes in the working tree are exactly what those acceptances left
 * (and so may be committed with the task), and which are the user's own.
 */
import path from "node:path";
import { namesBetween, writePatch } from "./diff.js";
import { APPLY, git } from "./git.js";
import { indexRecords, treeEntries } from "./index-entries.js";
import { isAncestor } from "./repo.js";

/**
 * Which of the dirty `paths` hold something other than what accepting the task's dependencies
 * without commit left there: their working-tree state (in `oursTree`) must equal HEAD three-way
 * merged with the dependencies' commits (fork point of HEAD and `base` → `base`), and their index
 * entry must be HEAD's or that same state (nothing else staged would be lost).
 */
export async function notLeftByDependencies(
  root: string,
  head: string,
  base: string,
  oursTree: string,
  paths: string[],
  tmp: string,
): Promise<string[]> {
  if (paths.length === 0) return [];
  const expectedTree = await dependenciesTree(root, head, base, tmp);
  if (expectedTree === null) return paths;
  const ours = await treeEntries(root, oursTree, paths);
  const expected = await treeEntries(root, expectedTree, paths);
  const atHead = await treeEntries(root, head, paths);
  const index = new Map<string, string>();
  for (const record of await indexRecords(root, paths)) {
    const tab = record.indexOf("\t");
    const [mode, blob, stage] = record.slice(0, tab).split(" ");
    const file = record.slice(tab + 1);
    index.set(file, stage === "0" && !index.has(file) ? `${mode} ${blob}` : "unmerged");
  }
  return paths.filter((p) => {
    const mine = ours.get(p);
    const staged = index.get(p);
    return mine !== expected.get(p) || (staged !== atHead.get(p) && staged !== mine);
  });
}

/**
 * HEAD three-way merged with the commits the task's base has and HEAD's history has not (the
 * dependencies the task was built on), as a tree; null when there are none or they do not merge.
 */
async function dependenciesTree(
  root: string,
  head: string,
  base: string,
  tmp: string,
): Promise<string | null> {
  if (await isAncestor(root, base, head)) return null;
  const forkPoint = await git(root, ["merge-base", head, base], { okExitCodes: [0, 1] });
  if (forkPoint.exitCode !== 0) return null;
  const fork = forkPoint.stdout.trim();
  if ((await namesBetween(root, fork, base)).length === 0) return null;
  const patch = path.join(tmp, "dependencies.patch");
  await writePatch(root, fork, base, patch);
  const env = { GIT_INDEX_FILE: path.join(tmp, "dependencies.index") };
  await git(root, ["read-tree", head], { env });
  const merged = await git(root, ["apply", ...APPLY, "--cached", "--3way", patch], {
    env,
    okExitCodes: [0, 1],
  });
  if (merged.exitCode !== 0) return null;
  return (await git(root, ["write-tree"], { env })).stdout.trim();
}
