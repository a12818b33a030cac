import { priceOfAnyModel } from "../config/price-catalog.js";
import type { Config } from "../config/schema.js";
import { TranscriptCollector } from "../core/client-transcript.js";
import { type LedgerEntry, NO_PROJECT } from "../core/ledger-entry.js";
import { attributePlannerMessages } from "../core/planner-attribution.js";
import { costOf, type Price } from "../core/pricing.js";
import {
  type ClaudeSession,
  claudeSessionOf,
  locateTranscript,
  type ReadStats,
  readTranscriptInto,
} from "./claude-transcript.js";
import type { Ledger } from "./ledger.js";

/**
 * Import the planner's measured usage from the client's own session transcript into the ledger
 * (DESIGN "Planner usage, measured"): one `measured` / `client-transcript` record per API message,
 * attributed to a project and phase; a message already in the ledger is never added again.
 */

export interface PlannerImport {
  /** "transcript": the session's transcript was read; "off"/"none": it was not. */
  status: "transcript" | "off" | "none" | "unreadable";
  session?: string;
  path?: string;
  /** Records added by this import. */
  imported: number;
  /** Messages of the turn in progress, left for the next import. */
  open: number;
  /** One sentence for the report when the planner's usage could not be measured. */
  note?: string;
  stats?: ReadStats;
}

export interface ImportOptions {
  config: Config;
  env: NodeJS.ProcessEnv;
  ledger: Ledger;
  /** Other sessions' transcripts are read as finished: nothing is left open. Default: the env's. */
  session?: ClaudeSession;
  /** Records appended per write. */
  batch?: number;
}

/** The key that keeps a message from being counted twice across imports. */
export function transcriptKey(
  session: string,
  messageId: string,
  requestId: string | null | undefined,
): string {
  return `${session}|${messageId}|${requestId ?? ""}`;
}

/** Keys of the client-transcript records already in the ledger. */
async function importedKeys(ledger: Ledger): Promise<Set<string>> {
  const keys = new Set<string>();
  const { entries } = await ledger.read();
  for (const e of entries) {
    if (e.origin !== "client-transcript" || !e.session) continue;
    for (const id of e.message_ids ?? []) keys.add(transcriptKey(e.session, id, e.request_id));
  }
  return keys;
}

export async function importPlannerUsage(opts: ImportOptions): Promise<PlannerImport> {
  if (opts.config.import_planner_usage === false) {
    return {
      status: "off",
      imported: 0,
      open: 0,
      note: "Planner usage import is off (import_planner_usage: false in delegate.config.json); planner figures are those logged with log_tokens.",
    };
  }
  const current = claudeSessionOf(opts.env);
  const session = opts.session ?? current;
  if (!session) return { status: "none", imported: 0, open: 0 };
  const finished = current?.session !== session.session;

  const where = await locateTranscript(session, opts.env);
  if (!where.found) {
    return {
      status: "unreadable",
      session: session.session,
      imported: 0,
      open: 0,
      note: `The Claude Code transcript of session ${session.session} could not be read (${where.error ?? `not found at ${where.tried.join(" or ")}`}); planner figures are those logged with log_tokens.`,
    };
  }
  const collector = new TranscriptCollector();
  let stats: ReadStats;
  try {
    stats = await readTranscriptInto(where.path, collector);
    for (const sub of where.subagents) {
      const s = await readTranscriptInto(sub, collector);
      stats = {
        bytes: stats.bytes + s.bytes,
        lines: stats.lines + s.lines,
        skippedLong: stats.skippedLong + s.skippedLong,
        tornBytes: stats.tornBytes + s.tornBytes,
      };
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return {
      status: "unreadable",
      session: session.session,
      path: where.path,
      imported: 0,
      open: 0,
      note: `The Claude Code transcript ${where.path} could not be read (${code}); planner figures are those logged with log_tokens.`,
    };
  }

  const attributed = attributePlannerMessages(collector.plannerMessages(), collector.userPrompts());
  const known = await importedKeys(opts.ledger);
  const prices = new Map<string, Promise<Price | null>>();
  const priceFor = (model: string) => {
    let p = prices.get(model);
    if (!p) {
      p = priceOfAnyModel(opts.config, model);
      prices.set(model, p);
    }
    return p;
  };
  const batch = opts.batch ?? 1000;
  let pendingWrite: LedgerEntry[] = [];
  let imported = 0;
  let open = 0;
  for (const a of attributed) {
    if (a.open && !finished) {
      open++;
      continue;
    }
    const m = a.message;
    const key = transcriptKey(session.session, m.id, m.requestId);
    if (known.has(key)) continue;
    known.add(key);
    const tools = [...new Set(m.calls.map((c) => c.tool))];
    pendingWrite.push({
      ts: new Date(m.ts).toISOString(),
      project: a.project ?? NO_PROJECT,
      phase: a.project ? a.phase : "other",
      model: m.model,
      provider: "anthropic",
      ...m.usage,
      cost_usd: costOf(m.usage, await priceFor(m.model)),
      source: "measured",
      origin: "client-transcript",
      session: session.session,
      message_ids: [m.id],
      ...(m.requestId ? { request_id: m.requestId } : {}),
      ...(m.sidechain ? { sidechain: true } : {}),
      ...(tools.length ? { tools } : {}),
    });
    if (pendingWrite.length >= batch) {
      await opts.ledger.appendMany(pendingWrite);
      imported += pendingWrite.length;
      pendingWrite = [];
    }
  }
  await opts.ledger.appendMany(pendingWrite);
  imported += pendingWrite.length;
  return { status: "transcript", session: session.session, path: where.path, imported, open, stats };
}
