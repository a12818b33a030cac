/**
 * Validation runner benchmarks: (1) overhead per trivial command against a plain
 * child_process.spawn of the same command, measured interleaved in the same run; (2) time from a
 * timed-out process tree's deadline to the call returning.
 */
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { runCommand } from "../src/validation/index.js";
import type { Bench, BenchRow } from "./types.js";

const GROUP = "validation";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

function plainSpawn(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", "true"]);
    child.once("error", reject);
    child.once("close", () => resolve());
  });
}

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function overheadRows(quick: boolean): Promise<BenchRow[]> {
  const iterations = quick ? 5 : 200;
  const cwd = tmpdir();
  const runner = () => runCommand({ run: "true" }, { cwd });
  for (let i = 0; i < (quick ? 1 : 10); i++) {
    await plainSpawn();
    await runner();
  }
  const plain: number[] = [];
  const ours: number[] = [];
  // Interleaved so that machine load drifts affect both series alike.
  for (let i = 0; i < iterations; i++) {
    plain.push(await timeMs(plainSpawn));
    ours.push(await timeMs(runner));
  }
  const reference = median(plain);
  const value = median(ours);
  const ratio = value / reference;
  return [
    {
      group: GROUP,
      name: "plain spawn('bash', ['-c', 'true']), median",
      value: round(reference),
      unit: "ms",
      note: `${iterations} runs`,
    },
    {
      group: GROUP,
      name: "runCommand({ run: 'true' }), median",
      value: round(value),
      unit: "ms",
      reference: round(reference),
      ratio: round(ratio),
      goal: "≤ 1.3×",
      met: ratio <= 1.3,
      note: `${iterations} runs, interleaved with the plain spawn`,
    },
  ];
}

async function deadlineRows(quick: boolean): Promise<BenchRow[]> {
  const iterations = quick ? 1 : 5;
  const timeoutS = quick ? 0.2 : 0.5;
  const lateness: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const elapsed = await timeMs(() =>
      runCommand({ run: "sleep 999 & sleep 999", timeout_s: timeoutS }, { cwd: tmpdir() }),
    );
    lateness.push(elapsed - timeoutS * 1000);
  }
  const worst = Math.max(...lateness);
  return [
    {
      group: GROUP,
      name: "deadline to return, timed-out `sleep 999 & sleep 999`, median",
      value: round(median(lateness)),
      unit: "ms",
      goal: "< 1000 ms",
      met: worst < 1000,
      note: `${iterations} runs, worst ${round(worst)} ms`,
    },
  ];
}

export const benchValidation: Bench = async ({ quick }) => [
  ...(await overheadRows(quick)),
  ...(await deadlineRows(quick)),
];
