import { shown, UserError } from "../core/errors.js";
import { matchInWorker } from "./regex-match.js";

/** A compiled `expect_output`: a plain substring, or a JavaScript regular expression. */
export interface OutputExpectation {
  kind: "substring" | "regex";
  /**
   * Whether `output` satisfies it. `unfinished` says why a regex could not answer (it ran past its
   * deadline); the expectation then counts as not met.
   */
  test(output: string): Promise<{ found: boolean; unfinished?: string }>;
  /** How the expectation reads in an error sentence. */
  describe(): string;
}

// Only real flag letters count, so a path such as "/usr/bin/env" stays a substring.
const REGEX_LITERAL = /^\/(.+)\/([dgimsuvy]*)$/s;

/**
 * `"/pattern/flags"` is a regular expression; anything else is a substring. Throws a UserError
 * naming the problem when the pattern or its flags are invalid.
 */
export function parseExpectOutput(expect: string): OutputExpectation {
  const literal = REGEX_LITERAL.exec(expect);
  if (!literal) {
    return {
      kind: "substring",
      test: async (output) => ({ found: output.includes(expect) }),
      describe: () => `output containing "${shown(expect)}"`,
    };
  }
  const [, source, flags] = literal;
  try {
    new RegExp(source, flags);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new UserError(
      `expect_output "${shown(expect)}" is not a valid regular expression (${reason}); ` +
        "fix the pattern, or drop the surrounding slashes to match a plain substring.",
      "expect_output",
    );
  }
  return {
    kind: "regex",
    // Never on the event loop every caller shares: a backtracking pattern could stall the server.
    test: async (output) => {
      const outcome = await matchInWorker(source!, flags!, output);
      return "matched" in outcome
        ? { found: outcome.matched }
        : { found: false, unfinished: outcome.unfinished };
    },
    describe: () => `output matching ${shown(expect)}`,
  };
}
