import { type PlannerMessage, VERIFICATION_TOOLS } from "./client-transcript.js";
import type { LedgerPhase } from "./ledger-entry.js";

/** Where one planner message's tokens go. `project: null` is "not in any project". */
export interface Attribution {
  message: PlannerMessage;
  project: string | null;
  phase: Extract<LedgerPhase, "exploration" | "delegation" | "verification" | "other">;
  /**
   * Still open: the message comes after the last delegate call of the user turn in progress, so
   * a later call may yet claim it. Importers leave it for the next import.
   */
  open: boolean;
}

interface ProjectState {
  lastTurn: number;
  dispatched: boolean;
}

/**
 * The attribution rules (README "Planner usage"), decided by the delegate tool calls alone:
 * - exploration: from the user turn that began the work to the project's first delegate call;
 * - delegation: the messages calling create/dispatch/get/list/should_delegate (and log_tokens,
 *   savings_report) for the project, and the planner turns between them in the same user turn;
 * - verification: review/accept/discard/run_validation after the project dispatched, and the turns
 *   leading to them;
 * - everything else: not in any project (phase `other`), shown, never dropped.
 * A call that names no project (should_delegate) belongs to the next call that does, else the last.
 * Subagent (sidechain) messages take their place by timestamp like any other planner turn.
 */
export function attributePlannerMessages(
  messages: readonly PlannerMessage[],
  prompts: readonly { ts: string; seq: number }[],
): Attribution[] {
  type Event = { ts: string; seq: number; message?: PlannerMessage };
  const events: Event[] = [
    ...prompts.map((p) => ({ ts: p.ts, seq: p.seq })),
    ...messages.map((m) => ({ ts: m.ts, seq: m.seq, message: m })),
  ].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.seq - b.seq));

  // The project each message's calls belong to, project-less calls resolved by look-ahead.
  const projectAt = new Map<PlannerMessage, string>();
  let next: string | null = null;
  for (let i = events.length - 1; i >= 0; i--) {
    const m = events[i]!.message;
    if (!m || m.calls.length === 0) continue;
    const named = m.calls.find((c) => c.project !== null)?.project ?? null;
    if (named) next = named;
    if (named ?? next) projectAt.set(m, (named ?? next)!);
  }
  let last: string | null = null;
  for (const e of events) {
    const m = e.message;
    if (!m || m.calls.length === 0) continue;
    const p = projectAt.get(m);
    if (p) last = p;
    else if (last) projectAt.set(m, last);
  }

  const out: Attribution[] = [];
  const state = new Map<string, ProjectState>();
  let turn = 0;
  let pending: PlannerMessage[] = [];
  const settle = (project: string | null, phase: Attribution["phase"], open = false) => {
    for (const m of pending) out.push({ message: m, project, phase, open });
    pending = [];
  };
  for (const e of events) {
    const m = e.message;
    if (!m) {
      settle(null, "other");
      turn++;
      continue;
    }
    const project = projectAt.get(m);
    if (!project) {
      pending.push(m);
      continue;
    }
    const st = state.get(project);
    const verifying = st?.dispatched === true && m.calls.every((c) => VERIFICATION_TOOLS.has(c.tool));
    const phase = verifying ? "verification" : "delegation";
    settle(project, st && st.lastTurn === turn ? phase : "exploration");
    out.push({ message: m, project, phase, open: false });
    state.set(project, {
      lastTurn: turn,
      dispatched: (st?.dispatched ?? false) || m.calls.some((c) => c.tool === "dispatch_to_small_model"),
    });
  }
  // After the last call of the turn in progress: nothing has claimed these yet.
  settle(null, "other", true);
  return out;
}
