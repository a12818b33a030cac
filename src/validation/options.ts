import { keyVariables } from "../config/models.js";
import type { Config } from "../config/schema.js";
import type { RunValidationOptions } from "./runner.js";

/** The runner options a config asks for: its limits, and its models' key variables to scrub. */
export function validationOptions(
  config: Config,
): Pick<RunValidationOptions, "scrubNames" | "defaultTimeoutS" | "timeoutCeilingS" | "outputBytes"> {
  const limits = config.limits ?? {};
  return {
    // Configured keys may have any name (api_key_env): never hand them to a shell command.
    scrubNames: keyVariables(config),
    ...(limits.validation_timeout_s ? { defaultTimeoutS: limits.validation_timeout_s } : {}),
    ...(limits.validation_timeout_ceiling_s ? { timeoutCeilingS: limits.validation_timeout_ceiling_s } : {}),
    ...(limits.output_bytes ? { outputBytes: limits.output_bytes } : {}),
  };
}
