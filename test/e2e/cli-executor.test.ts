import { afterEach, describe, expect, it } from "vitest";
import { type FakeReply, type FakeRequest, say, toolUse } from "../fakes/llm-server.js";
import { claudeCliModel, cliServerEnv, forExecutor, ledgerOf } from "./cli-helpers.js";
import { byTitle, createTask, type DispatchEnv, startDispatchEnv } from "./dispatch-helpers.js";
import { editSubtract, MATH, spec } from "./fixtures.js";
import { git, startServer, textOf } from "./harness.js";

type Result = {
  task_id: string;
  status: string;
  files_changed?: { path: string; added: number; removed: number }[];
  validation?: { passed: boolean; ran: number };
  usage?: {
    input_tokens: number;
    output_tokens: number;
    cache_read_tokens: number;
    cache_write_tokens: number;
  };
  report?: string;
  out_of_scope?: string[];
};

let env: DispatchEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function startCliEnv(extra: Record<string, string> = {}) {
  const e = await startDispatchEnv({ "src/math.ts": MATH }, {});
  // Restart the server with the CLI model configured and the CLIs on PATH.
  await e.server.close();
  const { writeFileSync, readFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const config = JSON.parse(readFileSync(join(e.root, "delegate.config.json"), "utf8"));
  config.models["haiku-cli"] = claudeCliModel(e.fake);
  writeFileSync(join(e.root, "delegate.config.json"), JSON.stringify(config));
  git(e.repo, "commit", "-qam", "cli model");
  e.server = await startServer({ root: e.root, env: cliServerEnv(extra) });
  return e;
}

const script = (steps: FakeReply[]) => steps.map((s) => (req: FakeRequest) => forExecutor(s, req));
const finish = toolUse("finish", { status: "complete", summary: "Mini-Task: subtract — COMPLETE ✅" });

describe("claude-code executor (haiku-cli) against the fake LLM", () => {
  it("runs the same scripted scenario as the API executor: same files, validation and measured tokens", async () => {
    env = await startCliEnv();
    const results: Record<string, Result> = {};
    for (const model of ["fake", "haiku-cli"]) {
      const title = `Add subtract on ${model}`;
      env.fake.setHandler(
        byTitle({ [title]: script([editSubtract, toolUse("run_validation", {}), finish, say("Done.")]) }),
      );
      const before = env.fake.requests.length;
      const id = await createTask(env, spec(title, { model }));
      const r = await env.server.call("dispatch_to_small_model", { task_id: id });
      if (process.env.DEBUG_CLI)
        console.log(
          JSON.stringify(r.structuredContent),
          env.server.stderr(),
          env.fake.requests
            .slice(before)
            .map((q) => [
              q.toolNames,
              q.messages.map((m) => [
                m.role,
                m.text.slice(0, 80),
                m.toolCalls.map((c) => c.name),
                m.toolResults.map((t) => t.content.slice(0, 200)),
              ]),
            ]),
        );
      expect(r.isError, textOf(r)).toBeFalsy();
      const [res] = (r.structuredContent as { results: Result[] }).results;
      expect(env.fake.handlerErrors).toEqual([]);
      results[model] = res!;
      // The ledger holds exactly what the fake reported for this task's requests.
      const mine = env.fake.requests.slice(before);
      const sent = mine.map((q) => Math.ceil(Buffer.byteLength(q.rawBody) / 4)).reduce((a, b) => a + b, 0);
      const ledger = ledgerOf(env.root, id);
      const sum = (k: string) => ledger.reduce((a, e) => a + (e[k] as number), 0);
      expect(sum("input_tokens")).toBe(sent);
      expect(res!.usage!.input_tokens).toBe(sent);
      expect(ledger.every((e) => e.source === "measured")).toBe(true);
      expect(new Set(ledger.map((e) => e.origin))).toEqual(
        new Set([model === "fake" ? "executor-api" : "claude-code"]),
      );
      if (model === "haiku-cli") {
        // Our five tools and nothing else, our system prompt.
        expect(mine[0]!.toolNames.sort()).toEqual(
          ["edit_file", "finish", "read_file", "run_validation", "write_file"].map(
            (t) => `mcp__delegate__${t}`,
          ),
        );
        expect(mine[0]!.system).toContain("You are an executor.");
      }
    }
    expect(results["haiku-cli"]).toMatchObject({ status: "passed", validation: { passed: true, ran: 1 } });
    expect(results["haiku-cli"]!.files_changed).toEqual(results.fake!.files_changed);
    expect(results["haiku-cli"]!.validation).toEqual(results.fake!.validation);
    expect(results["haiku-cli"]!.report).toContain("COMPLETE");
  }, 120_000);
});
