import { describe, expect, it } from "vitest";
import {
  extractLearnings,
  formatPct,
  formatTokens,
  formatUsd,
  renderLogMarkdown,
  renderReportTable,
  renderTaskTable,
} from "../../../src/core/report-render.js";
import { computeSavings } from "../../../src/core/savings.js";
import { entry } from "./fixtures/entries.js";
import { workedEntries } from "./fixtures/worked-example.js";

const SONNET = { input_per_mtok: 3, output_per_mtok: 15 };

const worked = computeSavings({
  project: "worked",
  entries: [
    ...workedEntries(),
    entry({ project: "worked", model: "qwen2.5-coder", cost_usd: null, task: "worked/01-split", attempt: 2 }),
  ],
  plannerModel: "claude-sonnet-4-5",
  plannerPrice: SONNET,
  tasks: [
    {
      id: "worked/01-split",
      status: "passed",
      estimate: { input_tokens: 20_000, output_tokens: 5_000, cost_usd: 0.01125, model: "claude-haiku-4-5" },
    },
  ],
  warnings: ["ledger.jsonl line 17 is not valid JSON; skipped."],
  catalog: "@pydantic/genai-prices 0.1.8",
});

describe("formatting", () => {
  it("shows dollars to 5 decimals without trailing zeros, unknown as unpriced", () => {
    expect(formatUsd(0.58425)).toBe("$0.58425");
    expect(formatUsd(1.035)).toBe("$1.035");
    expect(formatUsd(0.27)).toBe("$0.27");
    expect(formatUsd(0)).toBe("$0.00");
    expect(formatUsd(12)).toBe("$12.00");
    expect(formatUsd(0.000001)).toBe("<$0.00001");
    expect(formatUsd(-0.5)).toBe("-$0.50");
    expect(formatUsd(null)).toBe("unpriced");
    expect(formatTokens(165000)).toBe("165,000");
    expect(formatTokens(1234567)).toBe("1,234,567");
    expect(formatTokens(12)).toBe("12");
    expect(formatPct(43.5507246)).toBe("43.6 %");
    expect(formatPct(null)).toBe("n/a");
  });
});

describe("renderLogMarkdown", () => {
  const md = renderLogMarkdown(worked, { generatedAt: "2026-01-02T03:04:05.000Z" });

  it("follows the Tracking Success template, in order", () => {
    const headings = md.split("\n").filter((l) => l.startsWith("#"));
    expect(headings).toEqual([
      "# Tracking Success — worked",
      "## Token Usage",
      "### Planning",
      "### Execution",
      "### Verification",
      "### Total",
      "## Comparison",
      "## Warnings",
      "## Learnings",
    ]);
  });

  it("holds the key figures, the basis, the catalog and the warnings", () => {
    expect(md).toContain("| Actual (this workflow) | $0.58425 |");
    expect(md).toContain(
      "| Lower bound, planner context unknown: exploration + executor tokens at claude-sonnet-4-5 rates | $0.276 |",
    );
    expect(md).toContain("| Planner's own baseline_estimate (165,000 in / 36,000 out) ← used | $1.035 |");
    expect(md).toContain("Planner figures: reported with log_tokens.");
    expect(md).toContain("| exploration | both | exploration (reported with log_tokens) | $0.27 |");
    expect(md).toContain("| verification: reading results and reviewing | actual only |");
    expect(md).toContain("**$0.45075 (43.6 %)**");
    expect(md).toContain("Counterfactual used: **baseline_estimate**");
    expect(md).toContain("prices: @pydantic/genai-prices 0.1.8");
    expect(md).toContain("Generated 2026-01-02T03:04:05.000Z");
    expect(md).toContain("| exploration | 40,000 | 10,000 | 0 | 0 | $0.27 | 1 |");
    expect(md).toContain("| verification | 10,000 | 2,000 | 0 | 0 | $0.06 | 1 |");
    expect(md).toContain("- ledger.jsonl line 17 is not valid JSON; skipped.");
    expect(md).toMatch(/- qwen2\.5-coder has no known price/);
  });

  it("shows each task's actual against its estimate, with unpriced records counted", () => {
    const row = md.split("\n").find((l) => l.startsWith("| worked/01-split"))!;
    expect(row).toContain("| passed | 2 | 0 | 23,000 | 7,200 |");
    expect(row).toContain("$0.01425 + 1 unpriced");
    expect(row).toContain("20,000 / 5,000, $0.01125");
    // The cost error is n/a: one of the task's records has no price.
    expect(row).toContain("+15.0 % / +44.0 % / n/a");
  });

  it("keeps the user's Learnings when regenerated", () => {
    const edited = md.replace(
      /## Learnings[\s\S]*$/,
      "## Learnings\n\n- Haiku needs exact snippets.\n\n## Later\nmore\n",
    );
    const learnings = extractLearnings(edited);
    expect(learnings).toBe("## Learnings\n\n- Haiku needs exact snippets.\n\n## Later\nmore\n");
    const again = renderLogMarkdown(worked, { learnings: learnings! });
    expect(again.endsWith("## Learnings\n\n- Haiku needs exact snippets.\n\n## Later\nmore\n")).toBe(true);
    expect(again.match(/## Learnings/g)).toHaveLength(1);
    expect(extractLearnings("# nothing here")).toBeUndefined();
  });

  it("renders an empty project without crashing", () => {
    const empty = computeSavings({
      project: "empty",
      entries: [],
      plannerModel: "claude-sonnet-4-5",
      plannerPrice: SONNET,
      tasks: [],
    });
    const text = renderLogMarkdown(empty);
    expect(text).toContain("_No tasks._");
    expect(text).toContain("**$0.00 (n/a)**");
    expect(text).not.toContain("## Warnings");
    expect(renderReportTable(empty)).toContain("Savings");
  });
});

describe("renderReportTable", () => {
  const text = renderReportTable(worked);

  it("prints phases, models, tasks and the summary with the key figures", () => {
    expect(text.startsWith("worked — savings report\n")).toBe(true);
    expect(text).toMatch(/^exploration +40,000 +10,000 +0 +0 +\$0\.27 +1$/m);
    expect(text).toMatch(/^total +93,000 +31,200 +0 +0 +\$0\.58425 \+ 1 unpriced +6$/m);
    expect(text).toMatch(/^claude-sonnet-4-5 +70,000 +24,000 +0 +0 +\$0\.57 +3$/m);
    expect(text).toMatch(/^worked\/01-split +passed +2 +0 +23,000 \/ 7,200 +\$0\.01425 \+ 1 unpriced/m);
    expect(text).toMatch(/^Actual +\$0\.58425$/m);
    expect(text).toMatch(/^Planner's own baseline_estimate \(165,000 in \/ 36,000 out\) ← used +\$1\.035$/m);
    expect(text).toMatch(/^Lower bound, planner context unknown: .* at claude-sonnet-4-5 rates +\$0\.276$/m);
    expect(text).toContain("Delegation saved $0.45075 (43.6 %) against the planner's own baseline_estimate.");
    expect(text).toMatch(/^Savings +\$0\.45075 \(43\.6 %\)$/m);
    expect(text).toContain("Prices: @pydantic/genai-prices 0.1.8");
    expect(text).toContain("Warning: ledger.jsonl line 17 is not valid JSON; skipped.");
  });

  it("aligns columns", () => {
    const lines = text.split("\n");
    const header = lines.find((l) => l.startsWith("Phase"))!;
    const rule = lines[lines.indexOf(header) + 1]!;
    expect(rule).toMatch(/^-+( +-+)+$/);
    const row = lines.find((l) => l.startsWith("exploration"))!;
    expect(row.length).toBe(rule.length);
  });
});

describe("renderTaskTable", () => {
  it("lists tasks with status, model, attempts and cost", () => {
    const text = renderTaskTable([
      { id: "p/01-a", status: "passed", model: "claude-haiku-4-5", attempts: 1, cost_usd: 0.0123 },
      { id: "p/02-b", status: "ready", attempts: 0, cost_usd: null },
    ]);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^Task +Status +Model +Attempts +Cost$/);
    expect(lines[2]).toMatch(/^p\/01-a +passed +claude-haiku-4-5 +1 +\$0\.0123$/);
    expect(lines[3]).toMatch(/^p\/02-b +ready +— +0 +unpriced$/);
  });

  it("says so when there are none", () => {
    expect(renderTaskTable([])).toBe("No tasks.\n");
  });
});
