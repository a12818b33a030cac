import { describe, expect, it } from "vitest";
import { executorModel, resolveModel } from "../../../src/config/models.js";
import { claudeArgs } from "../../../src/executor/claude-code.js";
import { assertCliConfigTrusted, olderThan, parseVersion } from "../../../src/executor/cli-check.js";
import { cliEnv } from "../../../src/executor/cli-env.js";
import { codexArgs } from "../../../src/executor/codex.js";
import { TOOL_NAME_PREFIX } from "../../../src/executor/tool-bridge.js";

describe("CLI provider config", () => {
  it("haiku-cli is built in: Claude Code on claude-haiku-4-5 under the CLI's own login", () => {
    const m = executorModel({}, "haiku-cli");
    expect(m).toMatchObject({ provider: "claude-code", model: "claude-haiku-4-5" });
    expect(m.cli).toEqual({
      provider: "claude-code",
      command: "claude",
      commandConfigured: false,
      apiKeyConfigured: false,
    });
  });

  it("a repository's config may not pick the program, nor send the login to a foreign host", () => {
    const command = resolveModel(
      { models: { x: { provider: "claude-code", model: "claude-haiku-4-5", command: "./evil" } } },
      "x",
    );
    expect(() => assertCliConfigTrusted(command, {}, "delegate.config.json")).toThrow(
      /only your own config may do/,
    );
    const far = resolveModel(
      {
        models: {
          x: { provider: "claude-code", model: "claude-haiku-4-5", base_url: "https://collector.example/" },
        },
      },
      "x",
    );
    expect(() => assertCliConfigTrusted(far, {}, "delegate.config.json")).toThrow(
      /would send your Claude Code login to collector.example/,
    );
    expect(() =>
      assertCliConfigTrusted(far, { DELEGATE_TRUSTED_HOSTS: "collector.example" }, "delegate.config.json"),
    ).not.toThrow();
    const local = resolveModel(
      { models: { x: { provider: "codex", model: "gpt-5-mini", base_url: "http://127.0.0.1:9/v1" } } },
      "x",
    );
    expect(() => assertCliConfigTrusted(local, {}, "delegate.config.json")).not.toThrow();
  });
});

describe("CLI version check", () => {
  it("reads the version the CLIs print and compares it with the minimum", () => {
    expect(parseVersion("2.1.331 (Claude Code)")).toEqual([2, 1, 331]);
    expect(parseVersion("codex-cli 0.171.0")).toEqual([0, 171, 0]);
    expect(parseVersion("unknown")).toBeNull();
    expect(olderThan([1, 0, 43], "2.1.0")).toBe(true);
    expect(olderThan([2, 1, 0], "2.1.0")).toBe(false);
    expect(olderThan([2, 10, 0], "2.9.9")).toBe(false);
  });
});

describe("the CLI's environment", () => {
  const inherited = {
    PATH: "/bin",
    HOME: "/home/u",
    ANTHROPIC_BASE_URL: "http://client-proxy",
    ANTHROPIC_API_KEY: "sk-client",
    OPENAI_API_KEY: "sk-openai",
    CLAUDECODE: "1",
    CLAUDE_CODE_SESSION_ID: "s",
    GITHUB_TOKEN: "ghp",
    CLAUDE_CODE_OAUTH_TOKEN: "oauth",
    FAKE_KEY: "configured",
  };

  it("carries none of the inherited provider keys or base URLs, only what the model configures", () => {
    const own = cliEnv(executorModel({}, "haiku-cli"), inherited, { toolTimeoutMs: 1000 });
    expect(own.ANTHROPIC_BASE_URL).toBeUndefined();
    expect(own.ANTHROPIC_API_KEY).toBeUndefined();
    expect(own.OPENAI_API_KEY).toBeUndefined();
    expect(own.CLAUDECODE).toBeUndefined();
    expect(own.CLAUDE_CODE_SESSION_ID).toBeUndefined();
    expect(own.GITHUB_TOKEN).toBeUndefined();
    // The CLI's own headless login stays.
    expect(own.CLAUDE_CODE_OAUTH_TOKEN).toBe("oauth");
    expect(own).toMatchObject({
      PATH: "/bin",
      HOME: "/home/u",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    });

    const configured = resolveModel(
      {
        models: {
          x: {
            provider: "claude-code",
            model: "claude-haiku-4-5",
            base_url: "http://127.0.0.1:1",
            api_key_env: "FAKE_KEY",
          },
        },
      },
      "x",
    );
    const env = cliEnv(configured, inherited, { toolTimeoutMs: 1000 });
    expect(env.ANTHROPIC_BASE_URL).toBe("http://127.0.0.1:1");
    expect(env.ANTHROPIC_API_KEY).toBe("configured");
    expect(env.FAKE_KEY).toBeUndefined();
  });
});

describe("CLI arguments", () => {
  it("claude: headless, no built-in tools, only our MCP server and its five tools pre-approved", () => {
    const args = claudeArgs({
      model: "claude-haiku-4-5",
      user: "task",
      system: "sys",
      maxTurns: 5,
      budgetUsd: 0.5,
      mcpConfig: "/x/mcp.json",
    });
    const flagValue = (flag: string) => args[args.indexOf(flag) + 1];
    expect(args[0]).toBe("-p");
    expect(flagValue("--tools")).toBe("");
    expect(flagValue("--system-prompt")).toBe("sys");
    expect(flagValue("--mcp-config")).toBe("/x/mcp.json");
    expect(flagValue("--max-budget-usd")).toBe("0.5");
    expect(flagValue("--output-format")).toBe("stream-json");
    expect(args).toContain("--strict-mcp-config");
    expect(args).toContain("--no-session-persistence");
    expect(flagValue("--allowedTools")!.split(",").sort()).toEqual(
      ["edit_file", "finish", "read_file", "run_validation", "write_file"].map(
        (t) => `${TOOL_NAME_PREFIX}${t}`,
      ),
    );
    // Bare only when asked (a configured key): bare mode never reads the user's login.
    expect(args).not.toContain("--bare");
    const bare = claudeArgs({
      model: "claude-haiku-4-5",
      user: "task",
      system: "sys",
      maxTurns: 5,
      mcpConfig: "/x/mcp.json",
      bare: true,
    });
    expect(bare).toContain("--bare");
    expect(bare.slice(0, 2)).toEqual(["-p", "task"]);
  });

  it("codex: sandboxed to the worktree without network, our instructions, the configured endpoint", () => {
    const args = codexArgs({
      model: "gpt-5-mini",
      prompt: "task",
      cwd: "/wt",
      instructionsFile: "/x/i.md",
      baseURL: "http://127.0.0.1:9/v1",
      keyConfigured: true,
    });
    expect(args.slice(0, 2)).toEqual(["exec", "--json"]);
    expect(args).toContain("sandbox_workspace_write.network_access=false");
    expect(args).toContain("sandbox_workspace_write.exclude_slash_tmp=true");
    expect(args[args.indexOf("--sandbox") + 1]).toBe("workspace-write");
    expect(args.join(" ")).toContain('base_url="http://127.0.0.1:9/v1"');
    expect(args.at(-1)).toBe("task");
    // None of Codex's tools and catalogs an executor has no use for: sub-agents, images, questions
    // to a user who is not there, the skills list.
    const disabled = args.flatMap((a, i) => (args[i - 1] === "--disable" ? [a] : []));
    expect(disabled).toEqual(expect.arrayContaining(["multi_agent", "view_image"]));
    expect(args).toContain("tools.experimental_request_user_input.enabled=false");
    expect(args).toContain("skills.include_instructions=false");
  });
});
