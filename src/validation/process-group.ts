/**
 * Process groups of running validation commands. Each command is the leader of its own group
 * (spawned detached), so signalling `-pgid` reaches every descendant that did not start a session
 * of its own — background jobs, test runners' workers, a `sleep 999 &`.
 */

import { readdirSync, readFileSync } from "node:fs";

const POLL_MS = 20;

/**
 * Whether any process of the group is still running. kill(-pgid, 0) alone also counts zombies,
 * which never go away where PID 1 does not reap orphans (containers without an init), so on Linux
 * a group that answers is confirmed through /proc.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    // EPERM means a member exists that we may not signal; count it as alive.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  return process.platform !== "linux" || hasRunningMember(pgid);
}

function hasRunningMember(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return true; // no /proc to ask: trust kill()
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
  }
  return false;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * SIGTERM to the whole group, then SIGKILL if anything of it is still there after `graceMs`.
 * Resolves as soon as the group is gone or right after the SIGKILL: at most ~graceMs.
 */
export async function killGroup(pgid: number, graceMs: number): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(POLL_MS);
    if (!groupAlive(pgid)) return;
  }
  signalGroup(pgid, "SIGKILL");
}

const running = new Set<number>();
let exitHookInstalled = false;

/** Remember a running group so that the server exiting does not orphan it. */
export function trackGroup(pgid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Detached groups outlive the server otherwise; 'exit' handlers must be synchronous.
    process.once("exit", () => {
      for (const group of running) signalGroup(group, "SIGKILL");
    });
  }
  running.add(pgid);
}

export function untrackGroup(pgid: number): void {
  running.delete(pgid);
}
