/** The validation runner's public API: what the run_validation tool and the executor import. */
export { isSecret, isSecretName, scrubEnv } from "./env.js";
export { type OutputExpectation, parseExpectOutput } from "./expect.js";
export { type CapturedOutput, OutputCapture } from "./output.js";
export {
  type CommandResult,
  DEFAULT_OUTPUT_BYTES,
  DEFAULT_TIMEOUT_CEILING_S,
  DEFAULT_TIMEOUT_S,
  type RunValidationOptions,
  runCommand,
  runValidation,
  type ValidationCommand,
  type ValidationRun,
} from "./runner.js";
