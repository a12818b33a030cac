import { afterEach, describe, expect, it } from "vitest";
import { MATH, spec } from "./fixtures.js";
import { makeRepo, type RunningServer, removeDir, startServer, until } from "./harness.js";

const LOADED = /dispatch path loaded in the background in \d+ ms/;

describe("the dispatch path loads in the background once a task is stored", () => {
  let server: RunningServer | undefined;
  let repo: string | undefined;
  afterEach(async () => {
    await server?.close();
    if (repo) removeDir(repo);
  });

  it("loads the executor's modules and the provider's SDK after the first create_mini_task", async () => {
    repo = makeRepo({ "src/math.ts": MATH });
    server = await startServer({ root: repo, env: { DELEGATE_LOG: "debug" } });
    const stored = await server.call("create_mini_task", spec("Add subtract"));
    expect(stored.isError).toBeFalsy();
    await until(() => LOADED.test(server!.stderr()));
    expect(server.stderr()).not.toMatch(/not loaded in the background/);
  });
});
