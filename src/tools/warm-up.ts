/**
 * A server's first dispatch loads the executor's modules and its provider's SDK: about half a
 * second on a 2-core machine, paid inside the planner's dispatch call. A planner that stores a task
 * dispatches it on a later turn, seconds away; so the first stored task starts that loading in the
 * background, once per process, a moment after its answer is sent.
 */
import type { Config } from "../config/schema.js";
import { messageOf } from "../core/errors.js";
import { log } from "../log.js";

/** After the answer that triggers it has gone out. */
const DELAY_MS = 50;

let scheduled = false;

/** Loads the dispatch path in the background, once per process; never fails the caller. */
export function warmDispatchPath(config: Config): void {
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => void warm(config), DELAY_MS).unref();
}

async function warm(config: Config): Promise<void> {
  const start = performance.now();
  try {
    await import("../executor/dispatch.js");
    await import("../executor/batch.js");
    const { executorModel } = await import("../config/models.js");
    const { preloadProvider } = await import("../providers/create.js");
    await preloadProvider(executorModel(config));
    log.debug(`dispatch path loaded in the background in ${Math.round(performance.now() - start)} ms`);
  } catch (err) {
    // The dispatch loads the same modules itself and reports what fails there, to its caller.
    log.debug(`dispatch path not loaded in the background: ${messageOf(err)}`);
  }
}
