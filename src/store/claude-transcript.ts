import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { TranscriptCollector } from "../core/client-transcript.js";

/**
 * Finding and streaming Claude Code's own session transcript. Read only: nothing here writes
 * into the client's files.
 */

/** A line longer than this is skipped unread (a giant tool result; it carries no usage we need). */
export const MAX_LINE_BYTES = 16 << 20;

const SESSION_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Claude Code's folder name for a project directory: every non-alphanumeric character becomes `-`. */
export function projectSlug(projectDir: string): string {
  return projectDir.replace(/[^A-Za-z0-9]/g, "-");
}

/** Where Claude Code keeps its data: each CLAUDE_CONFIG_DIR entry, else ~/.claude and ~/.config/claude. */
export function claudeConfigDirs(env: NodeJS.ProcessEnv): string[] {
  const listed = (env.CLAUDE_CONFIG_DIR ?? "")
    .split(",")
    .map((d) => d.trim())
    .filter(Boolean);
  if (listed.length > 0) return listed;
  const home = env.HOME || homedir();
  return [join(home, ".claude"), join(home, ".config", "claude")];
}

export interface ClaudeSession {
  session: string;
  projectDir: string;
}

/** The Claude Code session this server runs in, from the environment Claude Code starts it with. */
export function claudeSessionOf(env: NodeJS.ProcessEnv): ClaudeSession | null {
  const session = env.CLAUDE_CODE_SESSION_ID;
  const projectDir = env.CLAUDE_PROJECT_DIR;
  if (!session || !projectDir || !SESSION_RE.test(session)) return null;
  return { session, projectDir };
}

/** Every path the session's transcript may be at, in the order they are tried. */
export function transcriptCandidates(s: ClaudeSession, env: NodeJS.ProcessEnv): string[] {
  return claudeConfigDirs(env).map((dir) =>
    join(dir, "projects", projectSlug(s.projectDir), `${s.session}.jsonl`),
  );
}

export type TranscriptLocation =
  | { found: true; path: string; subagents: string[] }
  | { found: false; tried: string[]; error?: string };

/** The first candidate that is a file, with its subagent transcripts (`<session>/subagents/*.jsonl`). */
export async function locateTranscript(
  s: ClaudeSession,
  env: NodeJS.ProcessEnv,
): Promise<TranscriptLocation> {
  const tried = transcriptCandidates(s, env);
  let error: string | undefined;
  for (const path of tried) {
    try {
      if (!(await stat(path)).isFile()) continue;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") error = `${path}: ${code ?? (err as Error).message}`;
      continue;
    }
    return { found: true, path, subagents: await subagentFiles(path.slice(0, -".jsonl".length)) };
  }
  return { found: false, tried, ...(error ? { error } : {}) };
}

async function subagentFiles(sessionDir: string): Promise<string[]> {
  const dir = join(sessionDir, "subagents");
  try {
    const names = await readdir(dir);
    return names
      .filter((n) => n.endsWith(".jsonl"))
      .sort()
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}

const NEWLINE = 0x0a;
// Only lines holding one of these can matter (see core/client-transcript); the rest are never decoded.
const MARKS = ['"type":"assistant"', '"type":"user"'].map((m) => Buffer.from(m));

function mayMatter(line: Buffer): boolean {
  return MARKS.some((m) => line.includes(m));
}

export interface ReadStats {
  bytes: number;
  lines: number;
  /** Lines over MAX_LINE_BYTES, skipped. */
  skippedLong: number;
  /** Bytes after the last newline (a line still being written, or torn): not read. */
  tornBytes: number;
}

/**
 * Streams `path` into `collector`, whole lines only: reading stops at the last newline, so a line
 * still being written (or torn by a crash) is left for the next read. Memory stays bounded by one
 * line (at most MAX_LINE_BYTES) plus the read buffer, whatever the file's size.
 */
export async function readTranscriptInto(path: string, collector: TranscriptCollector): Promise<ReadStats> {
  const stats: ReadStats = { bytes: 0, lines: 0, skippedLong: 0, tornBytes: 0 };
  let parts: Buffer[] = [];
  let partBytes = 0;
  let skipping = false;
  const finish = (tail: Buffer) => {
    stats.lines++;
    if (skipping || partBytes + tail.length > MAX_LINE_BYTES) {
      skipping = false;
      stats.skippedLong++;
    } else {
      const line = parts.length === 0 ? tail : Buffer.concat([...parts, tail]);
      if (mayMatter(line)) collector.add(line.toString("utf8"));
    }
    parts = [];
    partBytes = 0;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    stats.bytes += buf.length;
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
      finish(buf.subarray(start, nl));
      start = nl + 1;
    }
    if (start < buf.length && !skipping) {
      partBytes += buf.length - start;
      if (partBytes > MAX_LINE_BYTES) {
        skipping = true;
        parts = [];
      } else {
        // Copy: the stream may reuse its buffer.
        parts.push(Buffer.from(buf.subarray(start)));
      }
    } else if (start < buf.length) {
      partBytes += buf.length - start;
    }
  }
  stats.tornBytes = partBytes;
  return stats;
}
