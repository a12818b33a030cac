import { describe, expect, it } from "vitest";
import { validationOptions } from "../../../src/validation/options.js";

describe("validationOptions: one mapping from config to the runner, for dispatch and run_validation alike", () => {
  it("carries every validation limit and the configured key variables", () => {
    expect(
      validationOptions({
        models: { local: { provider: "anthropic", model: "claude-haiku-4-5", api_key_env: "MY_CRED" } },
        limits: { validation_timeout_s: 30, validation_timeout_ceiling_s: 90, output_bytes: 4096 },
      }),
    ).toEqual({ scrubNames: ["MY_CRED"], defaultTimeoutS: 30, timeoutCeilingS: 90, outputBytes: 4096 });
  });

  it("leaves the runner's defaults alone when the config sets nothing", () => {
    expect(validationOptions({})).toEqual({ scrubNames: [] });
  });
});
