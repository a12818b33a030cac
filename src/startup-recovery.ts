import type { TaskStore } from "./store/tasks.js";

// Once per workspace per process: the server on the first tool call that opens its tasks, the CLI
// before it reads them.
const recovered = new Map<string, Promise<unknown>>();

/**
 * Start-up repair of a workspace (tasks left running by a process that is gone, accepts killed
 * midway, stale worktree state), run before its tasks are read. Failures are logged by the repair itself, never thrown.
 */
export function recoverOnce(store: TaskStore): Promise<unknown> {
  const key = `${store.ws.root}\0${store.ws.dirRel}`;
  let repair = recovered.get(key);
  if (!repair) {
    // Loaded on first use: recovery pulls in the git layer, which a start does not need.
    repair = Promise.all([
      import("./store/recovery.js"),
      import("./executor/worktree-repair.js"),
      import("./executor/review.js"),
    ]).then(([{ recoverWorkspace }, { repairWorktrees }, { resumeAccepts }]) =>
      // Accepts a killed process left midway first: finishing one removes its worktree.
      recoverWorkspace(store, async (root) => [
        ...(await resumeAccepts(store.ws, store)),
        ...(await repairWorktrees(root)),
      ]),
    );
    recovered.set(key, repair);
  }
  return repair;
}
