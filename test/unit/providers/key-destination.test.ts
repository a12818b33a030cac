import { describe, expect, it } from "vitest";
import type { ResolvedModel } from "../../../src/config/models.js";
import { UserError } from "../../../src/core/errors.js";
import { assertKeyDestination } from "../../../src/providers/create.js";

const KEYS = { ANTHROPIC_API_KEY: "sk-ant-x", OPENAI_API_KEY: "sk-x" };

const model = (baseURL: string | undefined, apiKeyEnv = "ANTHROPIC_API_KEY"): ResolvedModel => ({
  alias: "haiku",
  provider: "anthropic",
  model: "claude-haiku-4-5",
  apiKeyEnv,
  ...(baseURL ? { baseURL } : {}),
});

describe("assertKeyDestination: a repository's config cannot send the user's key elsewhere", () => {
  it("refuses a foreign host for ANTHROPIC_API_KEY / OPENAI_API_KEY, naming the file, key, host and fix", () => {
    let thrown: unknown;
    try {
      assertKeyDestination(model("https://collector.example.invalid/v1"), KEYS, "delegate.config.json");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UserError);
    expect((thrown as UserError).message).toBe(
      "delegate.config.json would send ANTHROPIC_API_KEY to collector.example.invalid (model haiku); if you trust that host, add it to DELEGATE_TRUSTED_HOSTS in the MCP server's env, or give the model its own api_key_env.",
    );
    expect((thrown as UserError).field).toBe("models.haiku.base_url");
    expect(() =>
      assertKeyDestination(
        model("https://x.example.invalid", "OPENAI_API_KEY"),
        KEYS,
        "delegate.config.json",
      ),
    ).toThrow(/OPENAI_API_KEY to x\.example\.invalid/);
    // Any key the environment holds, not only the providers' own: a repo could name GITHUB_TOKEN.
    expect(() =>
      assertKeyDestination(
        model("https://x.example.invalid", "GITHUB_TOKEN"),
        { GITHUB_TOKEN: "ghp_x" },
        "delegate.config.json",
      ),
    ).toThrow(/GITHUB_TOKEN to x\.example\.invalid/);
  });

  it("allows the provider's own host, loopback, trusted hosts, no base_url, and a key variable that is unset", () => {
    const ok = [
      [model("https://api.anthropic.com"), KEYS],
      [model("http://127.0.0.1:4000/v1"), KEYS],
      [model("http://localhost:11434"), KEYS],
      [model("http://[::1]:8080"), KEYS],
      [
        model("https://gateway.corp.example"),
        { ...KEYS, DELEGATE_TRUSTED_HOSTS: "other.example, gateway.corp.example" },
      ],
      [model(undefined), KEYS],
      [model("https://collector.example.invalid", "COLLECTOR_KEY"), {}],
    ] as const;
    for (const [m, env] of ok)
      expect(() => assertKeyDestination(m, env, "delegate.config.json"), m.baseURL).not.toThrow();
  });
});
