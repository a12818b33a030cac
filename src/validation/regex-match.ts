import { Worker } from "node:worker_threads";

/**
 * How long a caller's regular expression may run once its worker is up. A real expectation over a
 * few KB of output takes microseconds; `(a+)+$` against 34 characters takes hours.
 */
export const REGEX_DEADLINE_MS = 2000;

// Inline (eval) so the same code runs from src under the test runner and from dist.
const WORKER_CODE = `
const { parentPort, workerData } = require("node:worker_threads");
const re = new RegExp(workerData.source, workerData.flags);
parentPort.postMessage(re.test(workerData.text));
`;

export type RegexOutcome = { matched: boolean } | { unfinished: string };

/**
 * `new RegExp(source, flags).test(text)` in a worker thread, terminated at the deadline: a
 * backtracking pattern costs its own caller that much time and never blocks the event loop that
 * every other request shares. The deadline starts when the worker is running, so a slow start on a
 * loaded machine does not count against the pattern.
 */
export function matchInWorker(
  source: string,
  flags: string,
  text: string,
  deadlineMs = REGEX_DEADLINE_MS,
): Promise<RegexOutcome> {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER_CODE, { eval: true, workerData: { source, flags, text } });
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (outcome: RegexOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(outcome);
    };
    worker.once("online", () => {
      timer = setTimeout(
        () => settle({ unfinished: `did not finish matching within ${deadlineMs / 1000} s` }),
        deadlineMs,
      );
    });
    worker.once("message", (matched: boolean) => settle({ matched }));
    // A pattern can also overflow the regex engine's stack: the caller's problem, not the server's.
    worker.once("error", (err) => settle({ unfinished: `could not be matched (${err.message})` }));
    worker.once("exit", (code) =>
      settle({ unfinished: `could not be matched (worker exited with ${code})` }),
    );
  });
}
