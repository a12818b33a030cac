/**
 * LLM faults seen through dispatch: what the attempt becomes, what the planner reads, and what the
 * ledger bills. (The provider-level classification is unit-tested in test/unit/providers.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeRequest, toolUse } from "../fakes/llm-server.js";
import {
  byTitle,
  createTask,
  type DispatchEnv,
  startDispatchEnv,
  type TaskScript,
  taskTitleOf,
} from "./dispatch-helpers.js";
import { dispatchOne, faultFirst, ledgerLines } from "./faults-helpers.js";
import { editSubtract, finish, MATH, spec } from "./fixtures.js";

type Attempt = { status: string; error?: string; turns: number; usage: { input_tokens: number } };

/** Scripts registered by the tests; one fake LLM serves every task of the file. */
const scripts: Record<string, TaskScript> = {};

function requestsOf(env: DispatchEnv, title: string): FakeRequest[] {
  return env.fake.requests.filter((r) => taskTitleOf(r) === title);
}

async function run(env: DispatchEnv, title: string, script: TaskScript) {
  scripts[title] = script;
  const id = await createTask(env, spec(title));
  const result = await dispatchOne(env, id);
  const got = await env.server.call("get_task", { task_id: id });
  const task = got.structuredContent as { status: string; attempts: Attempt[] };
  const ledger = ledgerLines(env.repo).filter((l) => l.task === id);
  return { id, result, task, attempt: task.attempts[0]!, ledger, requests: requestsOf(env, title) };
}

/** The planner's report for a call that was not retried: one sentence naming the provider, the status and the fix. */
function expectOneSentence(report: string | undefined, pattern: RegExp) {
  expect(report).toMatch(pattern);
  expect(report).not.toContain("\n");
  expect(report!.length).toBeLessThan(400);
}

describe.each(["anthropic", "openai"] as const)("LLM faults through dispatch over the %s wire", (wire) => {
  let env: DispatchEnv;
  beforeAll(async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH }, { wire, limits: { request_timeout_s: 1 } });
    env.fake.setHandler(byTitle(scripts));
  });
  afterAll(async () => {
    await env?.close();
  });

  it("429 with retry-after: waits as told, retries, and the task passes; only answered calls are billed", async () => {
    const r = await run(env, `Rate limited ${wire}`, [
      faultFirst({ status: 429, retryAfterS: 1 }, editSubtract),
      finish,
    ]);
    expect(r.result.status).toBe("passed");
    expect(r.requests).toHaveLength(3);
    // retry-after: 1 was honoured (generous lower bound; the SDK may add nothing or a little).
    expect(r.requests[1]!.receivedAt - r.requests[0]!.receivedAt).toBeGreaterThanOrEqual(900);
    expect(r.ledger).toHaveLength(2);
    expect(r.ledger.every((l) => l.error === undefined && l.input_tokens > 0)).toBe(true);
  });

  it("500 is retried and the task passes", async () => {
    const r = await run(env, `Server error ${wire}`, [faultFirst({ status: 500 }, editSubtract), finish]);
    expect(r.result.status).toBe("passed");
    expect(r.requests).toHaveLength(3);
    expect(r.ledger).toHaveLength(2);
    expect(r.ledger.every((l) => l.error === undefined)).toBe(true);
  });

  it("a tool call with invalid JSON arguments is reported back to the model and the attempt goes on", async () => {
    const r = await run(env, `Bad arguments ${wire}`, [
      toolUse("edit_file", "{not json"),
      editSubtract,
      finish,
    ]);
    expect(r.result.status).toBe("passed");
    expect(r.requests).toHaveLength(3);
    const back = r.requests[1]!.messages.flatMap((m) => m.toolResults);
    expect(back).toHaveLength(1);
    expect(back[0]!.content).toMatch(/edit_file were not valid JSON.*call it again with a JSON object/);
    if (wire === "anthropic") expect(back[0]!.isError).toBe(true);
    expect(r.attempt.turns).toBe(3);
    expect(r.ledger).toHaveLength(3);
  });

  it("401 is not retried: one request, attempt error, one sentence naming the key to check", async () => {
    const r = await run(env, `Bad key ${wire}`, [{ status: 401 }]);
    expect(r.requests).toHaveLength(1);
    expect(r.result.status).toBe("error");
    expect(r.task.status).toBe("error");
    expect(r.attempt.status).toBe("error");
    expectOneSentence(r.result.report, new RegExp(`^${wire} returned 401 \\(.*\\): check FAKE_KEY\\.$`));
    expect(r.attempt.error).toBe(r.result.report);
    // The failed call is in the ledger, billed nothing, with its error.
    expect(r.ledger).toHaveLength(1);
    expect(r.ledger[0]).toMatchObject({ input_tokens: 0, output_tokens: 0 });
    expect(r.ledger[0]!.error).toMatch(/returned 401/);
  });

  it("400 is not retried: one request, attempt error, one sentence with the fix", async () => {
    const r = await run(env, `Rejected ${wire}`, [{ status: 400, message: "max_tokens is too large" }]);
    expect(r.requests).toHaveLength(1);
    expect(r.result.status).toBe("error");
    expectOneSentence(
      r.result.report,
      new RegExp(
        `^${wire} returned 400 \\(.*max_tokens is too large\\): the request was rejected; check that model .+ supports tool use`,
      ),
    );
    expect(r.ledger).toHaveLength(1);
    expect(r.ledger[0]!.error).toMatch(/returned 400/);
  });

  it("a malformed JSON body is not retried: attempt error, reported, ledger line with the error", async () => {
    const r = await run(env, `Malformed ${wire}`, [{ malformed: true }]);
    expect(r.requests).toHaveLength(1);
    expect(r.result.status).toBe("error");
    expectOneSentence(
      r.result.report,
      new RegExp(`^${wire} sent a response that is not valid .+: check that the base_url`),
    );
    expect(r.ledger).toHaveLength(1);
    expect(r.ledger[0]).toMatchObject({ input_tokens: 0, output_tokens: 0 });
    expect(r.ledger[0]!.error).toMatch(/not valid/);
  });

  it("a hang is aborted at limits.request_timeout_s (each try), then reported with the setting to raise", async () => {
    const started = Date.now();
    const r = await run(env, `Hangs ${wire}`, [{ hang: true }]);
    expect(Date.now() - started).toBeLessThan(25_000);
    // The SDK's own retries apply to timeouts: 1 + 2.
    expect(r.requests).toHaveLength(3);
    expect(r.result.status).toBe("error");
    expectOneSentence(
      r.result.report,
      new RegExp(`^${wire} did not answer within 1000 ms \\(3 tries\\): raise limits\\.request_timeout_s`),
    );
    expect(r.ledger).toHaveLength(1);
    expect(r.ledger[0]!.error).toMatch(/did not answer/);
  });
});

describe("LLM overload through dispatch (anthropic wire)", () => {
  let env: DispatchEnv;
  beforeAll(async () => {
    env = await startDispatchEnv({ "src/math.ts": MATH });
    env.fake.setHandler(byTitle(scripts));
  });
  afterAll(async () => {
    await env?.close();
  });

  it("529 is retried and the task passes", async () => {
    const r = await run(env, "Overloaded once", [faultFirst({ status: 529 }, editSubtract), finish]);
    expect(r.result.status).toBe("passed");
    expect(r.requests).toHaveLength(3);
    expect(r.ledger).toHaveLength(2);
  });

  it("529 that persists: 1 + 2 retries, then attempt error saying it was overloaded after the retries", async () => {
    const r = await run(env, "Always overloaded", [{ status: 529, retryAfterMs: 20 }]);
    expect(r.requests).toHaveLength(3);
    expect(r.result.status).toBe("error");
    expectOneSentence(
      r.result.report,
      /^anthropic returned 529 \(overloaded_error.*\): overloaded after 2 retries; try again later or use another model\.$/,
    );
    expect(r.ledger).toHaveLength(1);
    expect(r.ledger[0]!.error).toMatch(/529/);
  });
});
