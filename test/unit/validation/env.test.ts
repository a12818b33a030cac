import { describe, expect, it } from "vitest";
import { isSecretName, scrubEnv } from "../../../src/validation/env.js";

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
});
