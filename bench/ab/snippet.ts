/**
 * The snippet sweep: where "the snippet is the change" begins, measured in the real client. One
 * new 40-line function added to a file, done by Claude Code itself (self: read, edit, run the
 * check, answer) and delegated (read, one dispatch with accept on_pass, answer) with the spec's
 * snippet carrying 0, ½ and all of the function. The executor writes the whole function every time.
 *
 * Each snippet token costs the planner its output rate and a re-read on its later turns, so the
 * delegate arm's cost grows with the share in a straight line (the ½ point checks it). The
 * break-even share is where that line meets the self arm: past it, delegating costs more than
 * writing the change yourself. Lint warns at `snippetChangeShare` (src/core/lint.ts); the row puts
 * the two side by side.
 *
 *   npx tsx bench/ab/snippet.ts [--pads 0,68000]
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { snippetChangeShare } from "../../src/core/lint.js";
import type { BenchRow } from "../types.js";
import { type ArmResult, armCost, call, type Price, padLabel, price, runArm, type Step, T } from "./ab.js";
import {
  CHECK_SNIPPET,
  SNIPPET_ANCHOR,
  SNIPPET_CHANGE,
  SNIPPET_FILE,
  SNIPPET_FILES,
  SNIPPET_PROMPT,
  snippetOf,
} from "./snippet-work.js";

const SHARES = [0, 0.5, 1] as const;

/** Self with the check run, as the other works' self arms (4 turns). */
const SELF: Step[] = [
  () => ({ toolCalls: [call("Read", { file_path: SNIPPET_FILE })] }),
  () => ({
    toolCalls: [
      call("Edit", { file_path: SNIPPET_FILE, old_string: SNIPPET_ANCHOR, new_string: SNIPPET_CHANGE }),
    ],
  }),
  () => ({ toolCalls: [call("Bash", { command: CHECK_SNIPPET, description: "check the function" })] }),
  () => ({ text: "Added." }),
];
/** Self trusting its edit unchecked: as many turns as the delegate arm (3), so only the writing differs. */
const SELF_UNCHECKED: Step[] = [SELF[0]!, SELF[1]!, SELF[3]!];

function delegate(share: number): Step[] {
  const snippet = snippetOf(share);
  return [
    () => ({ toolCalls: [call("Read", { file_path: SNIPPET_FILE })] }),
    () => ({
      toolCalls: [
        call(T("dispatch_to_small_model"), {
          specs: [
            {
              project: "summarize",
              title: "Add summarize",
              objective:
                "Add an exported summarize(rows) to src/report.ts returning count, total, mean, min, max and a label.",
              files_to_modify: [{ path: SNIPPET_FILE, action: "edit" }],
              steps: [
                "Insert summarize above the line // end of report helpers.",
                "Throw for a value that is not finite; return zeros and the label no rows for no rows.",
                "Label: N rows, all V when min equals max, else N rows, mean M (2 decimals), from MIN to MAX.",
              ],
              ...(snippet ? { snippets: [{ language: "ts", code: snippet }] } : {}),
              acceptance_criteria: ["summarize is exported and its label names the range"],
              validation: [{ run: CHECK_SNIPPET }],
            },
          ],
          accept: "on_pass",
        }),
      ],
    }),
    () => ({ text: "Added." }),
  ];
}

interface Sweep {
  pad: number;
  session: "fresh" | "warm";
  self: ArmResult;
  selfUnchecked: ArmResult;
  delegate: Map<number, ArmResult>;
}

async function sweep(pads: number[]): Promise<Sweep[]> {
  const task = { prompt: SNIPPET_PROMPT, files: SNIPPET_FILES };
  const out: Sweep[] = [];
  for (const pad of pads) {
    const self = await runArm("snippet", "self", SELF, pad, CHECK_SNIPPET, task);
    const unchecked = await runArm("snippet", "self", SELF_UNCHECKED, pad, CHECK_SNIPPET, task);
    const byShare = new Map<number, ArmResult[]>();
    for (const share of SHARES)
      byShare.set(share, await runArm("snippet", "delegate", delegate(share), pad, CHECK_SNIPPET, task));
    for (const [i, session] of (["fresh", "warm"] as const).entries())
      out.push({
        pad,
        session,
        self: self[i]!,
        selfUnchecked: unchecked[i]!,
        delegate: new Map(SHARES.map((s) => [s, byShare.get(s)![i]!])),
      });
  }
  return out;
}

interface BreakEven {
  self: number;
  /** Delegate arm's cost at each share. */
  at: Map<number, number>;
  /**
   * Where the straight line through share 0 and 1 meets the self arm. Over 1: even a snippet of
   * the whole change leaves delegating cheaper (the turns it saves outweigh it); below 0:
   * delegating costs more with no snippet at all.
   */
  share: number;
  /** How far the ½ point is from that line, as a share of the line's rise. */
  bend: number;
}

function breakEven(s: Sweep, selfArm: ArmResult, planner: Price, haiku: Price): BreakEven {
  const cost = (r: ArmResult) => armCost(r, planner, haiku);
  const at = new Map(SHARES.map((x) => [x, cost(s.delegate.get(x)!)]));
  const self = cost(selfArm);
  const [c0, cHalf, c1] = [at.get(0)!, at.get(0.5)!, at.get(1)!];
  const rise = c1 - c0;
  if (!(rise > 0)) throw new Error(`snippet sweep: a longer snippet did not cost more (${c0} → ${c1})`);
  return { self, at, share: (self - c0) / rise, bend: Math.abs(cHalf - (c0 + c1) / 2) / rise };
}

export async function snippetRows(pads: number[]): Promise<BenchRow[]> {
  const results = await sweep(pads);
  const [sonnet, haiku] = await Promise.all([price("sonnet"), price("haiku")]);
  const lintShare = snippetChangeShare(haiku.output_per_mtok / sonnet.output_per_mtok);
  const rows: BenchRow[] = [];
  for (const s of results) {
    for (const r of [s.self, s.selfUnchecked, ...s.delegate.values()])
      if (!r.ok) throw new Error(`snippet sweep ${s.pad} ${s.session}: an arm did not finish its work`);
    for (const [selfArm, how] of [
      [s.selfUnchecked, "self in as many turns (read, edit, answer)"],
      [s.self, "self running the check as well (read, edit, check, answer)"],
    ] as const) {
      const b = breakEven(s, selfArm, sonnet, haiku);
      const shares = [...b.at].map(([x, c]) => `${x}: $${c.toFixed(4)}`).join(", ");
      rows.push({
        group: "a/b in Claude Code",
        name: `snippet break-even vs ${how}: share of the change in the snippet where delegating costs the same, ${padLabel(s.pad)}, ${s.session} session, Sonnet + Haiku 4.5`,
        value: Math.round(b.share * 100) / 100,
        unit: "share",
        note: `self $${b.self.toFixed(4)}; delegate by snippet share ${shares} (the ½ point ${Math.round(b.bend * 100)} % of the rise off the straight line); over 1: even the whole change as a snippet leaves delegating cheaper, below 0: delegating costs more even with no snippet; starting planner context ${Math.round(s.self.firstContext / 1000)}k tokens; lint warns from ${lintShare.toFixed(2)} (1 − Haiku/Sonnet output price)`,
      });
    }
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { pads: { type: "string", default: "0,68000" } } });
  const rows = await snippetRows(String(values.pads).split(",").map(Number));
  for (const r of rows) process.stdout.write(`${r.name}: ${r.value}\n  ${r.note}\n`);
}
