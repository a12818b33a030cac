/**
 * A repository can ship mini-projects/ (or a file or directory in it) as a symbolic link to
 * somewhere outside the workspace: the server never writes through it.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { MATH, spec } from "./fixtures.js";
import { makeRepo, removeDir, startServer, tempDir, textOf } from "./harness.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const LOG = { project: "calc", phase: "planning", model: "sonnet", input_tokens: 10, output_tokens: 1 };

function setup() {
  const repo = makeRepo({ "src/math.ts": MATH });
  const outside = tempDir("delegate-outside-");
  cleanups.push(
    () => removeDir(repo),
    () => removeDir(outside),
  );
  return { repo, outside };
}

async function start(repo: string) {
  const server = await startServer({ root: repo });
  cleanups.push(() => server.close());
  return server;
}

it("mini-projects as a symlink to outside: tools that write there refuse, naming the link; nothing is written outside", async () => {
  const { repo, outside } = setup();
  symlinkSync(outside, join(repo, "mini-projects"));
  const server = await start(repo);
  for (const [tool, args] of [
    ["log_tokens", LOG],
    ["create_mini_task", spec("Through a link")],
  ] as const) {
    const r = await server.call(tool, args);
    expect(r.isError, tool).toBe(true);
    expect(textOf(r)).toMatch(
      /^delegate dir "mini-projects" is refused: it is a symlink \(via mini-projects\) to .+, outside the workspace\.$/,
    );
  }
  expect(readdirSync(outside)).toEqual([]);
});

it("a project directory or the ledger as a symlink to outside: refused, the outside untouched", async () => {
  const { repo, outside } = setup();
  mkdirSync(join(repo, "mini-projects"));
  symlinkSync(outside, join(repo, "mini-projects", "calc"));
  writeFileSync(join(outside, "victim"), "keep me\n");
  symlinkSync(join(outside, "victim"), join(repo, "mini-projects", "ledger.jsonl"));
  const server = await start(repo);

  const created = await server.call("create_mini_task", spec("Through a link"));
  expect(created.isError).toBe(true);
  expect(textOf(created)).toMatch(
    /^delegate dir "mini-projects\/calc\/\.seq" is refused: it is a symlink \(via mini-projects\/calc\)/,
  );

  const logged = await server.call("log_tokens", LOG);
  expect(logged.isError).toBe(true);
  expect(textOf(logged)).toMatch(
    /^cannot write \S+\/mini-projects\/ledger\.jsonl: it is a symbolic link \(ELOOP\); replace it with a regular file\.$/,
  );

  expect(readdirSync(outside)).toEqual(["victim"]);
  expect(readFileSync(join(outside, "victim"), "utf8")).toBe("keep me\n");
});
