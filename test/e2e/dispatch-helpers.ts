import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import {
  type FakeLlm,
  type FakeReply,
  type FakeRequest,
  startFakeLlm,
  type Wire,
} from "../fakes/llm-server.js";
import { git, makeRepo, type RunningServer, startServer, textOf } from "./harness.js";

/** A reply per turn for one task, chosen by the task title the executor was given. */
export type TaskScript = (FakeReply | ((req: FakeRequest) => FakeReply | Promise<FakeReply>))[];

/** The title in the executor's first user message ("# Task: <title>"). */
export function taskTitleOf(req: FakeRequest): string | undefined {
  const first = req.messages.find((m) => m.role === "user")?.text ?? "";
  return /# Task: (.+)/.exec(first)?.[1]?.trim();
}

/** How many assistant turns the conversation already has: the index of the reply wanted now. */
export function turnOf(req: FakeRequest): number {
  return req.messages.filter((m) => m.role === "assistant").length;
}

/** Route each request to its task's script by title and turn; unknown titles fail loudly. */
export function byTitle(scripts: Record<string, TaskScript>) {
  return (req: FakeRequest): FakeReply | Promise<FakeReply> => {
    const title = taskTitleOf(req);
    const script = title ? scripts[title] : undefined;
    if (!script) throw new Error(`no script for task title ${JSON.stringify(title)}`);
    const step = script[turnOf(req)];
    if (!step) throw new Error(`script for ${title} has no turn ${turnOf(req)}`);
    return typeof step === "function" ? step(req) : step;
  };
}

/** The model entry that points at the fake LLM over `wire`, its key in FAKE_KEY. */
export function fakeModel(fake: FakeLlm, wire: Wire = "anthropic") {
  return wire === "anthropic"
    ? {
        provider: "anthropic",
        model: "claude-haiku-4-5",
        base_url: fake.anthropicBaseURL,
        api_key_env: "FAKE_KEY",
      }
    : { provider: "openai", model: "gpt-4o-mini", base_url: fake.openaiBaseURL, api_key_env: "FAKE_KEY" };
}

/**
 * A delegate.config.json whose executor ("fake") is the fake LLM over `wire`. Extra models talk to
 * the same fake unless they name their own base_url.
 */
export function dispatchConfig(
  fake: FakeLlm,
  opts: { wire?: Wire; limits?: Record<string, unknown>; extraModels?: Record<string, unknown> } = {},
) {
  return {
    models: {
      fake: fakeModel(fake, opts.wire),
      ...Object.fromEntries(
        Object.entries(opts.extraModels ?? {}).map(([alias, m]) => {
          const cfg = m as { provider: string; base_url?: string };
          const base_url =
            cfg.base_url ?? (cfg.provider === "anthropic" ? fake.anthropicBaseURL : fake.openaiBaseURL);
          return [alias, { ...cfg, base_url }];
        }),
      ),
    },
    defaults: { executor: "fake", planner: "sonnet" },
    ...(opts.limits ? { limits: opts.limits } : {}),
  };
}

/** A temp git repo whose executor is the fake LLM over the Anthropic wire (key in FAKE_KEY), mini-projects/ ignored. */
export function makeDispatchRepo(fake: FakeLlm, files: Record<string, string>): string {
  return makeRepo({
    ...files,
    "delegate.config.json": JSON.stringify(dispatchConfig(fake), null, 2),
    ".gitignore": "mini-projects/\n",
  });
}

export interface DispatchEnv {
  /** The git repository's top level. */
  repo: string;
  /** The workspace the server runs in: the repository, or a subdirectory of it. */
  root: string;
  fake: FakeLlm;
  server: RunningServer;
  close(): Promise<void>;
}

/**
 * A temp git repo whose delegate.config.json points the executor at the fake LLM over `wire`,
 * and the built server started on it over stdio.
 */
export async function startDispatchEnv(
  files: Record<string, string>,
  opts: {
    wire?: Wire;
    stream?: boolean;
    limits?: Record<string, unknown>;
    extraModels?: Record<string, unknown>;
    /** Put the workspace in this subdirectory of the repository (a package in a monorepo). */
    subdir?: string;
  } = {},
): Promise<DispatchEnv> {
  const fake = await startFakeLlm();
  const config = dispatchConfig(fake, opts);
  const under = opts.subdir ? `${opts.subdir}/` : "";
  const placed = Object.fromEntries(Object.entries(files).map(([p, text]) => [`${under}${p}`, text]));
  const repo = makeRepo({ ...placed, [`${under}delegate.config.json`]: JSON.stringify(config, null, 2) });
  const root = opts.subdir ? join(repo, opts.subdir) : repo;
  writeFileSync(join(repo, ".gitignore"), "mini-projects/\n");
  git(repo, "add", ".gitignore");
  git(repo, "commit", "-q", "-m", "ignore mini-projects");
  const server = await startServer({ root, env: { FAKE_KEY: "test-key" } });
  return {
    repo,
    root,
    fake,
    server,
    async close() {
      await server.close();
      await fake.close();
    },
  };
}

/** create_mini_task on the env's server; fails the test on isError. Returns the task id. */
export async function createTask(env: DispatchEnv, s: Record<string, unknown>): Promise<string> {
  const r = await env.server.call("create_mini_task", s);
  expect(r.isError, textOf(r)).toBeFalsy();
  return (r.structuredContent as { id: string }).id;
}
