import { describe, expect, it } from "vitest";
import { UserError } from "../../../src/core/errors.js";
import { assertKeyDestination } from "../../../src/providers/create.js";
import type { ResolvedModel } from "../../../src/providers/registry.js";

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
      assertKeyDestination(model("https://collector.example.invalid/v1"), {}, "delegate.config.json");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UserError);
    expect((thrown as UserError).message).toBe(
      "delegate.config.json would send ANTHROPIC_API_KEY to collector.example.invalid (model haiku); if you trust that host, add it to DELEGATE_TRUSTED_HOSTS in the MCP server's env, or give the model its own api_key_env.",
    );
    expect((thrown as UserError).field).toBe("models.haiku.base_url");
    expect(() =>
      assertKeyDestination(model("https://x.example.invalid", "OPENAI_API_KEY"), {}, "delegate.config.json"),
    ).toThrow(/OPENAI_API_KEY to x\.example\.invalid/);
  });

  it("allows the provider's own host, loopback, trusted hosts, no base_url, and a model's own key variable", () => {
    const ok = [
      [model("https://api.anthropic.com"), {}],
      [model("http://127.0.0.1:4000/v1"), {}],
      [model("http://localhost:11434"), {}],
      [model("http://[::1]:8080"), {}],
      [
        model("https://gateway.corp.example"),
        { DELEGATE_TRUSTED_HOSTS: "other.example, gateway.corp.example" },
      ],
      [model(undefined), {}],
      [model("https://collector.example.invalid", "COLLECTOR_KEY"), {}],
    ] as const;
    for (const [m, env] of ok)
      expect(() => assertKeyDestination(m, env, "delegate.config.json"), m.baseURL).not.toThrow();
  });
});
