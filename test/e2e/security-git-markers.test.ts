/**
 * A repository whose git config and hooks would run commands: core.fsmonitor, every hook (in
 * .git/hooks and in a core.hooksPath directory), diff.external, a textconv driver named by
 * .gitattributes, and GPG signing through gpg.program. Each writes a marker file when run.
 * The whole flow — server start-up, create, dispatch, review, run_validation, accept with commit,
 * discard — must leave no marker. A last check runs plain git to prove the markers do fire.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toolUse } from "../fakes/llm-server.js";
import { byTitle, type DispatchEnv, startDispatchEnv } from "./dispatch-helpers.js";
import { MATH } from "./fixtures.js";
import { cleanEnv, git, type RunningServer, removeDir, startServer, tempDir, textOf } from "./harness.js";

const HOOKS = [
  "applypatch-msg",
  "pre-applypatch",
  "post-applypatch",
  "pre-commit",
  "pre-merge-commit",
  "prepare-commit-msg",
  "commit-msg",
  "post-commit",
  "pre-rebase",
  "post-checkout",
  "post-merge",
  "pre-push",
  "post-rewrite",
  "reference-transaction",
  "pre-auto-gc",
  "post-index-change",
  "push-to-checkout",
];

let env: DispatchEnv;
let server: RunningServer;
let repo: string;
/** Where every marker lands; outside the repository so no git command lists it. */
let markers: string;
/** The marker scripts and the core.hooksPath directory. */
let bin: string;

function markerScript(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho "$0 $*" >> "${markers}/${name}"\nexit 1\n`);
  chmodSync(path, 0o755);
  return path;
}

function markersFound(): string[] {
  return readdirSync(markers).sort();
}

function spec(title: string, line: string) {
  return {
    project: "hooks",
    title,
    objective: `Add ${line} to src/math.ts.`,
    files_to_read: [{ path: "src/math.ts", lines: "1-3" }],
    files_to_modify: [{ path: "src/math.ts", action: "edit" }],
    steps: [`Append the line ${line} to src/math.ts.`],
    acceptance_criteria: [`src/math.ts contains ${line}`],
    validation: [{ run: `grep -q '${line}' src/math.ts` }],
  };
}

function appendLine(line: string) {
  return toolUse("edit_file", {
    path: "src/math.ts",
    old_string: "  return a + b;\n}\n",
    new_string: `  return a + b;\n}\n${line}\n`,
  });
}

const finish = toolUse("finish", { status: "complete", summary: "done" });

async function ok(name: string, args: Record<string, unknown>) {
  const r = await server.call(name, args);
  expect(r.isError, `${name}: ${textOf(r)}`).toBeFalsy();
  return r.structuredContent as Record<string, unknown>;
}

beforeAll(async () => {
  markers = tempDir("delegate-markers-");
  env = await startDispatchEnv({ "src/math.ts": MATH, ".gitattributes": "* diff=evil\n" });
  repo = env.repo;
  // The helper's own server started before the traps were set; close it and start a fresh one below.
  await env.server.close();

  bin = tempDir("delegate-marker-bin-");
  const hooksPath = join(bin, "hooks");
  mkdirSync(hooksPath);
  for (const hook of HOOKS) {
    markerScript(join(repo, ".git", "hooks"), hook);
    markerScript(hooksPath, hook);
  }
  git(repo, "config", "core.fsmonitor", markerScript(bin, "fsmonitor"));
  git(repo, "config", "core.hooksPath", hooksPath);
  git(repo, "config", "diff.external", markerScript(bin, "diff-external"));
  git(repo, "config", "diff.evil.textconv", markerScript(bin, "textconv"));
  git(repo, "config", "commit.gpgSign", "true");
  git(repo, "config", "gpg.program", markerScript(bin, "gpg"));
  git(repo, "config", "core.pager", markerScript(bin, "pager"));
  expect(markersFound()).toEqual([]);

  server = await startServer({ root: repo, env: { FAKE_KEY: "test-key" } });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await env?.fake.close();
  for (const d of [repo, markers, bin]) if (d) removeDir(d);
});

describe("git config and hooks that run commands are never triggered by the server", () => {
  it("start-up, create, dispatch, review, run_validation, accept with commit, and discard leave no marker", async () => {
    env.fake.setHandler(
      byTitle({
        "Marker accept": [appendLine("// accepted"), toolUse("run_validation", {}), finish],
        "Marker discard": [appendLine("// discarded"), finish],
      }),
    );
    const a = (await ok("create_mini_task", spec("Marker accept", "// accepted"))).id as string;
    const b = (await ok("create_mini_task", spec("Marker discard", "// discarded"))).id as string;

    const dispatched = (await ok("dispatch_to_small_model", { task_ids: [a, b] })).results as {
      task_id: string;
      status: string;
    }[];
    expect(dispatched.map((r) => r.status)).toEqual(["passed", "passed"]);

    const review = await ok("review_task", { task_id: a });
    expect(review.diff).toContain("+// accepted");
    const validation = await ok("run_validation", { task_id: a });
    expect(validation).toMatchObject({ passed: true, where: "worktree" });

    const head = git(repo, "rev-parse", "HEAD").trim();
    const accepted = await ok("accept_task", { task_id: a, commit: true });
    expect(accepted.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(git(repo, "rev-parse", "HEAD~1").trim()).toBe(head);
    expect(readFileSync(join(repo, "src/math.ts"), "utf8")).toContain("// accepted");
    // Unsigned: gpg.program (a marker) was never asked to sign.
    expect(git(repo, "cat-file", "commit", "HEAD")).not.toContain("gpgsig");

    const discarded = await ok("discard_task", { task_id: b });
    expect(discarded.status).toBe("discarded");

    expect(markersFound()).toEqual([]);
  });

  it("the traps are live: plain git runs them (so the test above can fail)", () => {
    const run = (...args: string[]) => {
      try {
        execFileSync("git", args, { cwd: repo, env: cleanEnv({ HOME: repo }), stdio: "ignore" });
      } catch {
        // A failing hook or gpg makes git fail; the marker is what counts.
      }
    };
    run("status");
    run("commit", "--allow-empty", "-m", "sanity");
    run("-c", "core.hooksPath=/dev/null", "commit", "--allow-empty", "-m", "sanity"); // reaches signing
    run("diff", "HEAD~1", "HEAD");
    run("diff", "--no-ext-diff", "HEAD~1", "HEAD");
    expect(markersFound()).toEqual(
      expect.arrayContaining(["diff-external", "fsmonitor", "gpg", "pre-commit", "textconv"]),
    );
  });
});
