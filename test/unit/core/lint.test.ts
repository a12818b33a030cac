import { describe, expect, it } from "vitest";
import {
  type FileFact,
  hasBlocking,
  type LintFacts,
  lintMiniTask,
  modifiesFiles,
} from "../../../src/core/lint.js";
import type { LintIssue } from "../../../src/core/mini-task.js";
import { spec } from "./fixtures.js";

const file = (lineCount = 50): FileFact => ({ exists: true, isFile: true, lineCount });

/** Facts for a spec whose listed files all exist with 50 lines, in the sweet spot. */
function facts(over: Partial<LintFacts> = {}, s = spec()): LintFacts {
  return {
    read: s.files_to_read.map(() => file()),
    modify: s.files_to_modify.map(() => file()),
    promptTokens: 3000,
    knownTaskIds: new Set(),
    ...over,
  };
}

function lint(over: Record<string, unknown> = {}, factsOver: Partial<LintFacts> = {}): LintIssue[] {
  const s = spec(over);
  return lintMiniTask(s, facts(factsOver, s));
}

describe("lintMiniTask", () => {
  it("finds nothing in a well-formed spec", () => {
    expect(lint()).toEqual([]);
  });

  it("blocks a spec without validation", () => {
    const issues = lint({ validation: [] });
    expect(issues).toEqual([expect.objectContaining({ level: "error", field: "validation" })]);
    expect(hasBlocking(issues)).toBe(true);
  });

  it("blocks a spec without acceptance criteria", () => {
    expect(lint({ acceptance_criteria: [] })).toEqual([
      expect.objectContaining({ level: "error", field: "acceptance_criteria" }),
    ]);
  });

  it("blocks a path the store refused (outside the workspace), reporting the store's reason", () => {
    const reason = 'files_to_read[0].path "../x" is refused: it escapes the workspace.';
    const issues = lint(
      { files_to_read: [{ path: "../x" }] },
      { read: [{ refused: reason, exists: false }] },
    );
    expect(issues).toEqual([{ level: "error", field: "files_to_read[0].path", message: reason }]);
    const modReason = 'files_to_modify[0].path ".git/config" is refused: git internals.';
    expect(
      lint(
        { files_to_modify: [{ path: ".git/config", action: "edit" }] },
        { modify: [{ refused: modReason, exists: true, isFile: true }] },
      ),
    ).toEqual([{ level: "error", field: "files_to_modify[0].path", message: modReason }]);
  });

  it("blocks a line range beyond the end of the file, naming the file and its line count", () => {
    const issues = lint(
      { files_to_read: [{ path: "src/b.ts" }, { path: "src/a.ts", lines: "40-90" }] },
      { read: [file(), file(72)] },
    );
    expect(issues).toEqual([
      {
        level: "error",
        field: "files_to_read[1].lines",
        message: expect.stringContaining("40-90 is beyond the end of src/a.ts (72 lines)"),
      },
    ]);
  });

  it("accepts a range that ends on the last line and blocks a reversed or zero range", () => {
    expect(lint({ files_to_read: [{ path: "a", lines: "1-72" }] }, { read: [file(72)] })).toEqual([]);
    for (const lines of ["9-3", "0-3"]) {
      expect(lint({ files_to_read: [{ path: "a", lines }] }, { read: [file(72)] })).toEqual([
        expect.objectContaining({ level: "error", field: "files_to_read[0].lines" }),
      ]);
    }
  });

  it("blocks a files_to_read entry that does not exist or is a directory", () => {
    expect(lint({ files_to_read: [{ path: "src/nope.ts" }] }, { read: [{ exists: false }] })).toEqual([
      {
        level: "error",
        field: "files_to_read[0].path",
        message: expect.stringContaining("src/nope.ts does not exist"),
      },
    ]);
    expect(lint({ files_to_read: [{ path: "src" }] }, { read: [{ exists: true, isFile: false }] })).toEqual([
      expect.objectContaining({ level: "error", field: "files_to_read[0].path" }),
    ]);
  });

  it("blocks context over 100 words and accepts exactly 100", () => {
    expect(lint({ context: "word ".repeat(100) })).toEqual([]);
    expect(lint({ context: "word ".repeat(101) })).toEqual([
      { level: "error", field: "context", message: expect.stringContaining("101 words") },
    ]);
  });

  it("warns about more than 2 files to read", () => {
    const three = [{ path: "a" }, { path: "b" }, { path: "c" }];
    expect(lint({ files_to_read: three.slice(0, 2) })).toEqual([]);
    expect(lint({ files_to_read: three })).toEqual([
      expect.objectContaining({ level: "warning", field: "files_to_read" }),
    ]);
  });

  it("blocks a whole-file read of a file over 300 lines without a line range", () => {
    const issues = lint({ files_to_read: [{ path: "big.ts" }] }, { read: [file(5000)] });
    expect(issues).toEqual([
      {
        level: "error",
        field: "files_to_read[0].lines",
        message:
          "files_to_read[0] reads all 5000 lines of big.ts; give lines START-END (files over 300 lines are never sent whole).",
      },
    ]);
    expect(hasBlocking(issues)).toBe(true);
    expect(lint({ files_to_read: [{ path: "big.ts" }] }, { read: [file(301)] })).toEqual([
      expect.objectContaining({ level: "error", field: "files_to_read[0].lines" }),
    ]);
    expect(lint({ files_to_read: [{ path: "big.ts" }] }, { read: [file(300)] })).toEqual([]);
    expect(lint({ files_to_read: [{ path: "big.ts", lines: "10-40" }] }, { read: [file(5000)] })).toEqual([]);
  });

  it("advises merging a small task only when another task modifies the same files", () => {
    expect(lint({}, { promptTokens: 1999 })).toEqual([]);
    const low = lint({}, { promptTokens: 1999, mergeCandidates: ["split-todoist/02-export-it"] });
    expect(low).toEqual([
      {
        level: "warning",
        field: "estimate",
        message: expect.stringMatching(
          /below the 2,000–5,000 sweet spot, and split-todoist\/02-export-it modifies the same file/,
        ),
      },
    ]);
  });

  it("warns when the snippet is the change, at the share the two models' output prices set", () => {
    // Sonnet 4.5 plans (output $15/M), Haiku 4.5 executes ($5/M): at 2/3 or more, delegating saves no output.
    const at = (snippetTokens: number, outputTokens: number, ratio: number | null = 5 / 15) =>
      lint({}, { snippetTokens, outputTokens, outputPriceRatio: ratio }).map((l) => l.field);
    expect(at(650, 1000)).toEqual([]);
    expect(at(670, 1000)).toEqual(["snippets"]);
    // Under Opus ($25/M) the planner's own output is dearer: the snippet may be a larger share.
    expect(at(700, 1000, 5 / 25)).toEqual([]);
    expect(at(800, 1000, 5 / 25)).toEqual(["snippets"]);
    expect(at(670, 1000, null)).toEqual(["snippets"]);
    expect(lint({}, { snippetTokens: 900, outputTokens: 1000 })[0]!.message).toMatch(
      /^the snippet is the change: snippets are ~90% of what the executor will write/,
    );
  });

  it("warns when the prompt is above the 2,000–5,000 sweet spot", () => {
    expect(lint({}, { promptTokens: 2000 })).toEqual([]);
    expect(lint({}, { promptTokens: 5000 })).toEqual([]);
    const low: LintIssue[] = [];
    const high = lint({}, { promptTokens: 5001 });
    expect(high).toEqual([
      { level: "warning", field: "estimate", message: expect.stringContaining("above") },
    ]);
    expect(hasBlocking([...low, ...high])).toBe(false);
  });

  it.each([
    ["appropriately", "Handle errors appropriately."],
    ["etc.", "Add fields name, date, etc. to the row."],
    ["etc", "Add fields name, date, etc"],
    ["as needed", "Update the callers as needed."],
    ["and so on", "Rename foo, bar and so on."],
    ["similar", "Add a similar test for the parser."],
    ["as necessary", "Change the imports as necessary."],
    ["if needed", "Export the type if needed."],
  ])("warns about the vague word %j", (word, step) => {
    expect(lint({ steps: [step] })).toEqual([
      { level: "warning", field: "steps[0]", message: expect.stringContaining(`"${word}"`) },
    ]);
  });

  it("looks for vague words in the objective, context and acceptance criteria too, and not inside words", () => {
    expect(lint({ objective: "Parse rows appropriately." }).map((i) => i.field)).toEqual(["objective"]);
    expect(lint({ context: "Rows, headers, etc." }).map((i) => i.field)).toEqual(["context"]);
    expect(lint({ acceptance_criteria: ["Works as needed"] }).map((i) => i.field)).toEqual([
      "acceptance_criteria[0]",
    ]);
    expect(lint({ steps: ["Add a dissimilar fixture and a fetcher."] })).toEqual([]);
  });

  it("warns about a step that does not start with a verb", () => {
    expect(lint({ steps: ["The parser should return rows."] })).toEqual([
      { level: "warning", field: "steps[0]", message: expect.stringContaining('"the"') },
    ]);
    expect(lint({ steps: ["Add x.", "`parseCsv` must return rows."] })).toEqual([
      expect.objectContaining({ level: "warning", field: "steps[1]" }),
    ]);
  });

  it.each([
    "Add a parseCsv function.",
    "Replace `foo` with `bar`.",
    "Rename parse to parseCsv.",
    "Make the header optional.",
    "1. Create src/csv.ts.",
    "- Delete the old helper.",
    "Move the type to types.ts.",
    "Change the return type to Row[].",
    "Insert a guard clause.",
    "Wrap the call in try/catch.",
    "Prepend a header row.",
    "Modify the loop to skip blanks.",
    "Assign the result to rows.",
    "Initialize the counter at 0.",
    "Return early when the input is empty.",
    "Don't touch the exports.",
    "In src/a.ts, add an export.",
    "Extract the loop into a function.",
    "Append a newline.",
    "Import Row from ./types.js.",
    "Fix the off-by-one error.",
    "Write the test.",
    "Update: the constant to 5.",
  ])("does not warn about the imperative step %j", (step) => {
    expect(lint({ steps: [step] })).toEqual([]);
  });

  it.each([
    "sed -i 's/a/b/' src/a.ts",
    "sed --in-place 's/a/b/' f",
    "echo x > src/a.ts",
    "npm test >> log.txt",
    "npm test 2> err.log",
    "rm -rf dist",
    "git commit -am wip",
    "git add .",
    "npm install",
    "npm i lodash",
    "pnpm add zod",
    "npx eslint --fix .",
    "npx biome check --write src",
    "npx prettier -w src",
    "touch done",
    "cat a | tee b",
    "echo x>out.txt",
    "npm test &> log.txt",
    'echo "a > b" > "out file"',
    "cmd > /dev/null.txt",
  ])("warns that the validation command %j modifies files", (run) => {
    expect(modifiesFiles(run)).toBe(true);
    expect(lint({ validation: [{ run }] })).toEqual([
      expect.objectContaining({ level: "warning", field: "validation[0].run" }),
    ]);
  });

  it.each([
    "npx tsc --noEmit",
    "grep -q x f && echo OK",
    "npm test 2>&1",
    "cmd > /dev/null",
    "cmd >/dev/null 2>&1",
    "cmd 2>&1",
    "cmd 2>/dev/null",
    "npm test -- --run",
    "npx vitest run test/a.test.ts",
    "node -e \"import('./dist/a.js').then(m => process.exit(m.f() === 1 ? 0 : 1))\"",
    "test $(wc -l < src/a.ts) -gt 3",
    "git diff --exit-code",
    "git status --porcelain",
    "npx eslint --fix-dry-run .",
    "npx prettier --check src",
    "black --check .",
    "python -c 'print(1 > 0)'",
  ])("does not warn about the read-only command %j", (run) => {
    expect(modifiesFiles(run)).toBe(false);
  });

  it("blocks editing a file that does not exist, and warns about creating one that does", () => {
    expect(
      lint({ files_to_modify: [{ path: "src/gone.ts", action: "edit" }] }, { modify: [{ exists: false }] }),
    ).toEqual([
      {
        level: "error",
        field: "files_to_modify[0].path",
        message: expect.stringContaining("src/gone.ts does not exist"),
      },
    ]);
    expect(
      lint({ files_to_modify: [{ path: "src/new.ts", action: "create" }] }, { modify: [{ exists: false }] }),
    ).toEqual([]);
    expect(lint({ files_to_modify: [{ path: "src/a.ts", action: "create" }] })).toEqual([
      expect.objectContaining({ level: "warning", field: "files_to_modify[0].path" }),
    ]);
  });

  it("blocks a file listed twice in files_to_modify", () => {
    const issues = lint({
      files_to_modify: [
        { path: "src/a.ts", action: "edit" },
        { path: "src/a.ts", action: "edit" },
      ],
    });
    expect(issues).toEqual([
      { level: "error", field: "files_to_modify[1].path", message: expect.stringContaining("listed twice") },
    ]);
    const spelled = lint({
      files_to_modify: [
        { path: "src/a.ts", action: "edit" },
        { path: "./src//a.ts", action: "edit" },
        { path: "src/b.ts", action: "edit" },
      ],
    });
    expect(spelled).toEqual([
      { level: "error", field: "files_to_modify[1].path", message: expect.stringContaining("./src//a.ts") },
    ]);
  });

  it("blocks a depends_on id that does not exist and accepts a known one", () => {
    const over = { depends_on: ["split-todoist/01-setup", "split-todoist/02-types"] };
    expect(lint(over, { knownTaskIds: new Set(["split-todoist/01-setup"]) })).toEqual([
      {
        level: "error",
        field: "depends_on[1]",
        message: expect.stringContaining("split-todoist/02-types"),
      },
    ]);
    expect(
      lint(over, { knownTaskIds: new Set(["split-todoist/01-setup", "split-todoist/02-types"]) }),
    ).toEqual([]);
  });
});

describe("lint: validation expect_output", () => {
  it("blocks an invalid /regex/ before anything is paid for, and accepts substrings and valid regexes", async () => {
    const { lintMiniTask } = await import("../../../src/core/lint.js");
    const { miniTaskSpecSchema } = await import("../../../src/core/mini-task.js");
    const spec = (expect_output: string) =>
      miniTaskSpecSchema.parse({
        project: "p",
        title: "Regex check",
        objective: "x",
        files_to_modify: [{ path: "a.ts", action: "create" }],
        steps: ["Add it."],
        acceptance_criteria: ["ok"],
        validation: [{ run: "true", expect_output }],
      });
    const facts = {
      read: [],
      modify: [{ exists: false }],
      promptTokens: 3000,
      knownTaskIds: new Set<string>(),
    };
    const bad = lintMiniTask(spec("/[unclosed/"), facts).filter((l) => l.level === "error");
    expect(bad).toEqual([
      expect.objectContaining({
        field: "validation[0].expect_output",
        message: expect.stringMatching(/not a valid \/regex\//),
      }),
    ]);
    for (const ok of ["/^ok$/m", "plain [text", "/x/z"]) {
      expect(
        lintMiniTask(spec(ok), facts).filter((l) => l.level === "error"),
        ok,
      ).toEqual([]);
    }
  });
});
