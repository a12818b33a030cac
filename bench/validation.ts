/**
 * Validation runner benchmarks: (1) overhead per trivial command against a plain
 * child_process.spawn started exactly as the runner starts its child (bash -c, its own process
 * group, stdin ignored, stdout and stderr piped), measured interleaved in the same run; the
 * reference must look like a plain spawn (≤ 50 ms) or the row is "reference broken"; (2) time
 * from a timed-out process tree's deadline to the call returning.
 */
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { runCommand } from "../src/validation/index.js";
import { loadNow, type Plausible, referenceProblem, runsOf } from "./reference.js";
import { round, timeMs } from "./stats.js";
import type { Bench, BenchRow } from "./types.js";

const GROUP = "validation";

/** A plain fork + exec of bash is a few milliseconds; anything slower is not measuring a spawn. */
export const PLAIN_SPAWN: Plausible = { what: "plain spawn of bash -c true", max: 50, unit: "ms" };

/** The runner's own spawn, without the runner: the same shell line, options and wait for close. */
function plainSpawn(cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", "exec 2>&1; true"], {
      cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.resume();
    child.stderr.resume();
    child.once("error", reject);
    child.once("close", () => resolve());
  });
}

/**
 * The overhead row: `ours` against `reference`, interleaved so that load drifts hit both alike.
 * Exported so a unit test can hand it a deliberately slow reference and see the check fire.
 */
export async function overheadRow(opts: {
  iterations: number;
  warmup: number;
  ours: () => Promise<unknown>;
  reference: () => Promise<unknown>;
  plausible?: Plausible;
}): Promise<BenchRow[]> {
  for (let i = 0; i < opts.warmup; i++) {
    await opts.reference();
    await opts.ours();
  }
  const plain: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < opts.iterations; i++) {
    plain.push(await timeMs(opts.reference));
    ours.push(await timeMs(opts.ours));
  }
  const load = loadNow();
  const ref = runsOf(plain);
  const value = runsOf(ours);
  const broken = referenceProblem(ref, opts.plausible ?? PLAIN_SPAWN);
  return [
    {
      group: GROUP,
      name: "plain spawn('bash', ['-c', 'exec 2>&1; true']), as the runner spawns, median",
      value: ref.median,
      unit: "ms",
      runs: ref,
      load,
      note: `${opts.iterations} runs; detached, stdin ignored, stdout and stderr piped, waited for close`,
    },
    {
      group: GROUP,
      name: "runCommand({ run: 'true' }), median",
      value: value.median,
      unit: "ms",
      runs: value,
      reference: ref.median,
      referenceRuns: ref,
      ratio: round(value.median / ref.median),
      goal: "validation.runner-overhead",
      load,
      ...(broken ? { referenceBroken: broken } : {}),
      note: `${opts.iterations} runs, interleaved with the plain spawn`,
    },
  ];
}

async function deadlineRows(quick: boolean): Promise<BenchRow[]> {
  const iterations = quick ? 3 : 5;
  const timeoutS = quick ? 0.2 : 0.5;
  const lateness: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const elapsed = await timeMs(() =>
      runCommand({ run: "sleep 999 & sleep 999", timeout_s: timeoutS }, { cwd: tmpdir() }),
    );
    lateness.push(elapsed - timeoutS * 1000);
  }
  const runs = runsOf(lateness);
  return [
    {
      group: GROUP,
      name: "deadline to return, timed-out `sleep 999 & sleep 999`, worst",
      value: runs.max,
      unit: "ms",
      runs,
      goal: "validation.deadline",
      load: loadNow(),
      note: `${iterations} runs, timeout ${timeoutS} s`,
    },
  ];
}

export const benchValidation: Bench = async ({ quick }) => {
  const cwd = tmpdir();
  return [
    ...(await overheadRow({
      iterations: quick ? 5 : 200,
      warmup: quick ? 1 : 10,
      ours: () => runCommand({ run: "true" }, { cwd }),
      reference: () => plainSpawn(cwd),
    })),
    ...(await deadlineRows(quick)),
  ];
};
