import { describe, expect, it } from "vitest";
import {
  isSubscription,
  type LedgerEntry,
  ledgerEntrySchema,
  parseLedgerLine,
  SUBSCRIPTION_NOTE,
} from "../../../src/core/ledger-entry.js";
import { renderLogMarkdown, renderReportTable } from "../../../src/core/report-render.js";
import { computeSavings } from "../../../src/core/savings.js";
import { savingsReportSchema } from "../../../src/core/savings-report.js";
import { boundedReport } from "../../../src/tools/savings-report.js";
import { entry } from "./fixtures/entries.js";

const SONNET = { input_per_mtok: 3, output_per_mtok: 15 };
const TASK = "sub/01-split";

const LINE =
  "Subscription: 2 executor records, 22,000 tokens, $0.087 at list price: billed to your subscription, not charged per token. Actual cost and savings are computed at list price.";

/** A claude-code executor record under the CLI's own login (subscription). */
const cli = (over: Partial<LedgerEntry>) =>
  entry({
    project: "sub",
    task: TASK,
    attempt: 1,
    model: "claude-sonnet-4-5",
    provider: "claude-code",
    origin: "claude-code",
    ...over,
  });

/**
 * A project with, on claude-sonnet-4-5, one record marked with the field, one older record marked
 * only by its note, and the planner's own (API) planning; and an API executor on haiku.
 */
function ledger(): LedgerEntry[] {
  return [
    entry({ project: "sub", phase: "exploration", model: "claude-sonnet-4-5", cost_usd: 0.02 }),
    entry({ project: "sub", phase: "planning", model: "claude-sonnet-4-5", cost_usd: 0.03 }),
    cli({
      input_tokens: 10_000,
      output_tokens: 2_000,
      cache_read_tokens: 5_000,
      cost_usd: 0.06,
      billing: "subscription",
      note: SUBSCRIPTION_NOTE,
    }),
    cli({
      input_tokens: 4_000,
      output_tokens: 1_000,
      cost_usd: 0.027,
      note: `${SUBSCRIPTION_NOTE}; usage from the result event`,
    }),
    entry({
      project: "sub",
      task: TASK,
      attempt: 2,
      origin: "executor-api",
      escalation: true,
      cost_usd: 0.005,
    }),
    // Another project's subscription record: not this report's.
    cli({ project: "other", task: "other/01-x", billing: "subscription" }),
  ];
}

const input = (entries: LedgerEntry[]) => ({
  project: "sub",
  entries,
  plannerModel: "claude-sonnet-4-5",
  plannerPrice: SONNET,
  tasks: [{ id: TASK, status: "passed", estimate: null }],
});

/** The same records without either marker: what the report would be for API billing. */
const unmarked = (entries: LedgerEntry[]) =>
  entries.map(({ billing: _billing, note: _note, ...rest }) => rest as LedgerEntry);

describe("ledger records billed to a CLI subscription", () => {
  it("are marked by the billing field, or by the note in ledgers written before it", () => {
    const [, , marked, noteOnly, api] = ledger();
    expect(isSubscription(marked!)).toBe(true);
    expect(isSubscription(noteOnly!)).toBe(true);
    expect(isSubscription(api!)).toBe(false);
    expect(ledgerEntrySchema.safeParse(marked).success).toBe(true);
    expect(parseLedgerLine(JSON.stringify(marked), 1, "ledger.jsonl")).toEqual(marked);
    expect(typeof parseLedgerLine(JSON.stringify({ ...marked, billing: "api" }), 1, "ledger.jsonl")).toBe(
      "string",
    );
  });

  it("are tallied per model and in the totals, only where there are some", () => {
    const r = computeSavings(input(ledger()));
    expect(savingsReportSchema.safeParse(r).success).toBe(true);
    const sonnet = r.by_model.find((m) => m.model === "claude-sonnet-4-5")!;
    expect(sonnet).toMatchObject({
      records: 4,
      cost_usd: 0.137,
      subscription_records: 2,
      subscription_tokens: 22_000,
      subscription_cost_usd: 0.087,
    });
    const haiku = r.by_model.find((m) => m.model === "claude-haiku-4-5")!;
    expect(Object.keys(haiku).filter((k) => k.startsWith("subscription"))).toEqual([]);
    expect(r.totals).toMatchObject({
      records: 5,
      subscription_records: 2,
      subscription_tokens: 22_000,
      subscription_cost_usd: 0.087,
    });
    // Compact: phases, tasks and the baseline carry no subscription figures.
    const elsewhere = JSON.stringify([r.by_phase, r.tasks, r.baseline_estimate]);
    expect(elsewhere).not.toContain("subscription");
  });

  it("do not change the savings: the notional cost counts at list price, as if billed per token", () => {
    const marked = computeSavings(input(ledger()));
    const plain = computeSavings(input(unmarked(ledger())));
    expect(plain.totals).not.toHaveProperty("subscription_records");
    for (const key of [
      "actual_cost_usd",
      "counterfactual_cost_usd",
      "savings_usd",
      "savings_pct",
      "counterfactual_basis",
      "repriced_counterfactual_usd",
      "terms",
      "verdict",
      "warnings",
      "by_phase",
      "tasks",
    ] as const) {
      expect(marked[key], key).toEqual(plain[key]);
    }
    expect(marked.actual_cost_usd).toBeCloseTo(0.02 + 0.03 + 0.06 + 0.027 + 0.005, 9);
  });

  it("are shown in the terminal report, the tool's text and LOG.md: the model row and one line", () => {
    const r = computeSavings(input(ledger()));
    const table = renderReportTable(r);
    const tool = boundedReport(r, "mini-projects/sub/LOG.md").text;
    const md = renderLogMarkdown(r);
    for (const text of [table, tool, md]) {
      expect(text).toContain(LINE);
      expect(text.split(LINE)).toHaveLength(2);
    }
    const sonnetRow = table.split("\n").find((l) => l.startsWith("claude-sonnet-4-5"))!;
    expect(sonnetRow).toContain("$0.137 (incl. $0.087 subscription)");
    const haikuRow = table.split("\n").find((l) => l.startsWith("claude-haiku-4-5"))!;
    expect(haikuRow).not.toContain("subscription");
    expect(md).toContain(
      "| claude-sonnet-4-5 | 16,000 | 3,400 | 5,000 | 0 | $0.137 (incl. $0.087 subscription) | 4 |",
    );
    // Under the model table, before the tasks.
    expect(table.indexOf(LINE)).toBeGreaterThan(table.indexOf(sonnetRow));
    expect(table.indexOf(LINE)).toBeLessThan(table.indexOf(TASK));
  });

  it("marks a model row all of whose records are a subscription's, and says one record in the singular", () => {
    const r = computeSavings(
      input([cli({ billing: "subscription", input_tokens: 1_000, output_tokens: 200, cost_usd: 0.006 })]),
    );
    const table = renderReportTable(r);
    expect(table.split("\n").find((l) => l.startsWith("claude-sonnet-4-5"))).toContain(
      "$0.006 (subscription)",
    );
    expect(table).toContain(
      "Subscription: 1 executor record, 1,200 tokens, $0.006 at list price: billed to your subscription, not charged per token.",
    );
  });

  it("a project without them has no subscription line", () => {
    const r = computeSavings(input(unmarked(ledger())));
    for (const text of [renderReportTable(r), boundedReport(r, "LOG.md").text, renderLogMarkdown(r)]) {
      expect(text).not.toContain("billed to your subscription");
      expect(text).not.toContain("Subscription:");
      expect(text).not.toContain("(subscription)");
    }
    expect(JSON.stringify(r)).not.toContain("subscription");
  });
});
