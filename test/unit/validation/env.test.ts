import { describe, expect, it } from "vitest";
import { isSecret, isSecretName, scrubEnv } from "../../../src/validation/env.js";

describe("scrubEnv", () => {
  it("removes credential-like names, case-insensitively, and keeps the rest", () => {
    const env = scrubEnv({
      ANTHROPIC_API_KEY: "a",
      OPENAI_API_KEY: "b",
      openrouter_api_key: "c",
      GITHUB_TOKEN: "d",
      npm_token: "e",
      CLIENT_SECRET: "f",
      AWS_SECRET_ACCESS_KEY: "g",
      PGPASSWORD: "h",
      db_password_file: "i",
      PATH: "/usr/bin",
      HOME: "/home/x",
      TOKENIZER_CACHE: "kept: TOKEN is not a suffix here",
      KEYBOARD: "kept",
      UNDEFINED: undefined,
    });
    expect(env).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/x",
      TOKENIZER_CACHE: "kept: TOKEN is not a suffix here",
      KEYBOARD: "kept",
    });
  });

  it("also removes names given explicitly, such as a model's api_key_env", () => {
    expect(scrubEnv({ MY_OPENROUTER: "k", OTHER: "v" }, ["MY_OPENROUTER"])).toEqual({ OTHER: "v" });
  });

  it("returns a copy and leaves its input alone", () => {
    const input = { A_TOKEN: "t", B: "b" };
    scrubEnv(input);
    expect(input).toEqual({ A_TOKEN: "t", B: "b" });
  });

  it("isSecretName matches the contract's patterns", () => {
    for (const name of ["X_API_KEY", "x_token", "My_Secret", "PASSWORD", "MYPASSWORDX"]) {
      expect(isSecretName(name), name).toBe(true);
    }
    for (const name of ["PATH", "API", "TOKENS_DIR", "LANG"]) expect(isSecretName(name), name).toBe(false);
  });

  // [name, value, removed]: the rule in SECURITY.md, row by row.
  const TABLE: [string, string, boolean][] = [
    // #18.10: these reached validation commands before.
    ["API_KEY", "k", true],
    ["OPENAI_KEY", "k", true],
    ["GITHUB_PAT", "ghp_x", true],
    ["npm_config__authToken", "t", true],
    ["npm_config__auth", "dXNlcjpwYXNz", true],
    ["npm_config_//registry.example/:_authToken", "t", true],
    ["X_APIKEY", "k", true],
    ["NODE_AUTH_TOKEN", "t", true],
    ["AWS_ACCESS_KEY_ID", "AKIA", true],
    ["SSH_PRIVATE_KEY", "-----BEGIN", true],
    ["KEY", "k", true],
    ["GH_PAT_CLASSIC", "p", true],
    ["OAUTH_CLIENT", "c", true],
    ["GOOGLE_APPLICATION_CREDENTIALS", "/x.json", true],
    ["BASIC_AUTH_HEADER", "Basic abc", true],
    // A KEY inside a longer word: removed only when the value looks like a key.
    ["LICENSEKEYVALUE", "9f8e7d6c5b4a39281706", true],
    ["KEYRING_BACKEND", "file", false],
    ["KEYBOARD", "9f8e7d6c5b4a39281706", false],
    // The allow list and near misses stay.
    ["SSH_AUTH_SOCK", "/tmp/ssh-x/agent.1", false],
    ["XAUTHORITY", "/home/u/.Xauthority", false],
    ["KEYMAP", "us", false],
    ["GIT_AUTHOR_NAME", "A U Thor", false],
    ["GIT_AUTHOR_EMAIL", "a@example.com", false],
    ["PATH", "/usr/bin", false],
    ["PATCH_LEVEL", "3", false],
    ["COMPAT_MODE", "1", false],
    ["HOME", "/home/u", false],
    ["TOKENIZER_CACHE", "/tmp/c", false],
  ];

  it.each(TABLE)("#18.10 %s=%s removed: %s", (name, value, removed) => {
    expect(isSecret(name, value)).toBe(removed);
    expect(name in scrubEnv({ [name]: value })).toBe(!removed);
  });
});
