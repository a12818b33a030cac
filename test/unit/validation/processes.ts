/** Test-side view of processes, independent of the runner's own bookkeeping. Linux /proc only. */
import { readdirSync, readFileSync } from "node:fs";

interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
}

function stat(pid: string): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "latin1");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { pid: Number(pid), state: fields[0], pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/** Pids of the group's members that are not zombies. */
export function runningMembers(pgid: number): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(stat)
    .filter((s): s is ProcStat => s !== undefined && s.pgrp === pgid && s.state !== "Z" && s.state !== "X")
    .map((s) => s.pid);
}

export function isRunning(pid: number): boolean {
  const s = stat(String(pid));
  return s !== undefined && s.state !== "Z" && s.state !== "X";
}

/** Polls until `check` holds or `ms` pass; returns the last value of `check`. */
export async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}
