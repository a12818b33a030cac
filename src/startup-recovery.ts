import type { TaskStore } from "./store/tasks.js";

// Once per workspace per process: the server on the first tool call that opens its tasks, the CLI
// before it reads them.
const recovered = new Map<string, Promise<unknown>>();

/**
 * Start-up repair of a workspace (tasks left running by a process that is gone, accepts killed
 * midway, stale worktree state), run before its tasks are read. Failures are logged by the repair
 * itself, never thrown. The git layer is loaded only when there is something for it to repair: an
 * accept left midway, or delegate worktree state in the repository.
 */
export function recoverOnce(store: TaskStore): Promise<unknown> {
  const key = `${store.ws.root}\0${store.ws.dirRel}`;
  let repair = recovered.get(key);
  if (!repair) {
    repair = import("./store/recovery.js").then(({ acceptIntentIds, recoverWorkspace }) =>
      recoverWorkspace(store, async (root) => {
        const done: string[] = [];
        // Accepts a killed process left midway first: finishing one removes its worktree.
        if ((await acceptIntentIds(store.ws)).length > 0) {
          const { resumeAccepts } = await import("./executor/review.js");
          done.push(...(await resumeAccepts(store.ws, store)));
        }
        const { mayHoldDelegateWorktrees } = await import("./executor/worktree-presence.js");
        if (await mayHoldDelegateWorktrees(root)) {
          const { repairWorktrees } = await import("./executor/worktree-repair.js");
          done.push(...(await repairWorktrees(root)));
        }
        return done;
      }),
    );
    recovered.set(key, repair);
  }
  return repair;
}
