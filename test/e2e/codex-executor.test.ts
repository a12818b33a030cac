import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeLlm, say, scripted, startFakeLlm, toolUse } from "../fakes/llm-server.js";
import { cliServerEnv, ledgerOf } from "./cli-helpers.js";
import { MATH, SUBTRACT, spec } from "./fixtures.js";
import { git, makeRepo, type RunningServer, startServer, textOf } from "./harness.js";

let fake: FakeLlm | undefined;
let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  await fake?.close();
  server = undefined;
  fake = undefined;
});

const shell = (cmd: string) => toolUse("exec_command", { cmd });

describe("codex executor against the fake LLM's Responses API", () => {
  it("edits in its sandbox; the server reverts what is out of scope, validates, and ledgers the turn's usage", async () => {
    fake = await startFakeLlm();
    const config = {
      models: {
        codex: {
          provider: "codex",
          model: "gpt-5-mini",
          base_url: fake.openaiBaseURL,
          api_key_env: "FAKE_KEY",
        },
      },
      defaults: { executor: "codex", planner: "sonnet" },
    };
    const repo = makeRepo({
      "src/math.ts": MATH,
      "src/other.ts": "export const other = 1;\n",
      "delegate.config.json": JSON.stringify(config),
      ".gitignore": "mini-projects/\n",
    });
    server = await startServer({ root: repo, env: cliServerEnv() });
    fake.setHandler(
      scripted([
        shell(`printf '\\n${SUBTRACT.replaceAll("\n", "\\n")}' >> src/math.ts`),
        // Codex's own tools can write anywhere in its worktree: this one is outside the spec.
        shell("echo 'export const other = 2;' > src/other.ts"),
        shell("grep -q 'export function subtract' src/math.ts"),
        say("Mini-Task: subtract — COMPLETE ✅\nChanged: src/math.ts"),
      ]),
    );
    const created = await server.call("create_mini_task", spec("Add subtract"));
    expect(created.isError, textOf(created)).toBeFalsy();
    const id = (created.structuredContent as { id: string }).id;
    const r = await server.call("dispatch_to_small_model", { task_id: id });
    expect(r.isError, textOf(r)).toBeFalsy();
    const [res] = (r.structuredContent as { results: Record<string, unknown>[] }).results;
    expect(fake.handlerErrors).toEqual([]);
    expect(res).toMatchObject({
      status: "passed",
      files_changed: [{ path: "src/math.ts", added: 4, removed: 0 }],
      validation: { passed: true, ran: 1 },
      out_of_scope: ["src/other.ts"],
    });
    expect(res!.report).toContain("COMPLETE");
    expect(git(repo, "show", `delegate/${id}:src/other.ts`)).toBe("export const other = 1;\n");
    expect(readFileSync(join(repo, "src/math.ts"), "utf8")).toBe(MATH);
    // Every request reached the fake over the Responses API with the configured key.
    expect(fake.requests.every((q) => q.wire === "responses" && q.apiKey === "test-key")).toBe(true);
    expect(fake.requests[0]!.system).toContain("You are an executor running in a sandbox.");
    const sent = fake.requests
      .map((q) => Math.ceil(Buffer.byteLength(q.rawBody) / 4))
      .reduce((a, b) => a + b, 0);
    const ledger = ledgerOf(repo, id);
    expect(ledger.map((e) => e.origin)).toEqual(["codex"]);
    expect(ledger[0]!.input_tokens).toBe(sent);
    expect((res!.usage as { input_tokens: number }).input_tokens).toBe(sent);
  }, 180_000);
});
