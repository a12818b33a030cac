/**
 * delegate.config.json: where it is found and how a bad one is reported (file, field, fix).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig, userConfigPath } from "../../../src/config/load.js";
import { CONFIG_FILE } from "../../../src/config/schema.js";
import { UserError } from "../../../src/core/errors.js";
import { rejectionOf } from "../providers/helpers.js";

let root: string;
let workspace: string;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "delegate-config-"));
  workspace = join(root, "ws");
  await mkdir(workspace);
  env = { XDG_CONFIG_HOME: join(root, "xdg") };
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function writeWorkspaceConfig(text: string): Promise<string> {
  const path = join(workspace, CONFIG_FILE);
  await writeFile(path, text);
  return path;
}

async function loadError(): Promise<UserError> {
  const err = await rejectionOf(loadConfig(workspace, env));
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}

describe("finding the file", () => {
  it("uses built-in defaults when there is no file", async () => {
    expect(await loadConfig(workspace, env)).toEqual({ config: {}, path: null, source: null });
  });

  it("reads the user config under XDG_CONFIG_HOME when the workspace has none", async () => {
    const path = userConfigPath(env);
    expect(path).toBe(join(root, "xdg", "delegate-mcp", "config.json"));
    await mkdir(join(root, "xdg", "delegate-mcp"), { recursive: true });
    await writeFile(path, JSON.stringify({ defaults: { executor: "gpt-4o-mini" } }));
    expect(await loadConfig(workspace, env)).toEqual({
      config: { defaults: { executor: "gpt-4o-mini" } },
      path,
      source: "user",
    });
  });

  it("prefers the workspace file over the user config", async () => {
    await mkdir(join(root, "xdg", "delegate-mcp"), { recursive: true });
    await writeFile(userConfigPath(env), JSON.stringify({ defaults: { executor: "gpt-4o-mini" } }));
    const path = await writeWorkspaceConfig(
      JSON.stringify({
        models: {
          local: { provider: "openai-compatible", model: "qwen3:8b", base_url: "http://127.0.0.1:11434/v1" },
        },
      }),
    );
    const loaded = await loadConfig(workspace, env);
    expect(loaded.path).toBe(path);
    expect(loaded.source).toBe("workspace");
    expect(loaded.config.models?.local?.base_url).toBe("http://127.0.0.1:11434/v1");
  });

  it("reports a file that cannot be read", async () => {
    await mkdir(join(workspace, CONFIG_FILE));
    const err = await loadError();
    expect(err.message).toMatch(
      new RegExp(`^${join(workspace, CONFIG_FILE)} cannot be read \\(.*\\); fix its permissions\\.$`),
    );
  });
});

describe("a bad file", () => {
  it("names the file when it is not JSON", async () => {
    const path = await writeWorkspaceConfig('{ "models": { ');
    const err = await loadError();
    expect(err.message).toMatch(new RegExp(`^${path} is not valid JSON \\(.*\\); fix the syntax\\.$`));
  });

  it("names the file and the unknown field at the top level", async () => {
    const path = await writeWorkspaceConfig(JSON.stringify({ modles: {} }));
    const err = await loadError();
    expect(err.message).toContain(path);
    expect(err.message).toContain('"modles"');
    expect(err.message).toMatch(/see schemas\/config\.schema\.json\.$/);
  });

  it("names the model whose entry has an unknown field", async () => {
    await writeWorkspaceConfig(
      JSON.stringify({
        models: { haiku: { provider: "anthropic", model: "claude-haiku-4-5", baseurl: "http://x" } },
      }),
    );
    const err = await loadError();
    expect(err.field).toBe("models.haiku");
    expect(err.message).toContain("models.haiku");
    expect(err.message).toContain('"baseurl"');
  });

  it("names the field that has the wrong type", async () => {
    const path = await writeWorkspaceConfig(JSON.stringify({ limits: { max_turns: "12" } }));
    const err = await loadError();
    expect(err.field).toBe("limits.max_turns");
    expect(err.message).toMatch(new RegExp(`^${path}: limits\\.max_turns: .*number`));
  });

  it("names the field holding an unknown provider", async () => {
    await writeWorkspaceConfig(JSON.stringify({ models: { fast: { provider: "anthropc", model: "m" } } }));
    const err = await loadError();
    expect(err.field).toBe("models.fast.provider");
  });

  it("rejects a base_url that is not a URL", async () => {
    await writeWorkspaceConfig(
      JSON.stringify({ models: { fast: { provider: "openai", model: "m", base_url: "localhost" } } }),
    );
    const err = await loadError();
    expect(err.field).toBe("models.fast.base_url");
  });
});
