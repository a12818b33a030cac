import { UserError } from "../core/errors.js";

/** A compiled `expect_output`: a plain substring, or a JavaScript regular expression. */
export interface OutputExpectation {
  kind: "substring" | "regex";
  test(output: string): boolean;
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
      test: (output) => output.includes(expect),
      describe: () => `output containing ${JSON.stringify(expect)}`,
    };
  }
  const [, source, flags] = literal;
  let regex: RegExp;
  try {
    regex = new RegExp(source, flags);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new UserError(
      `expect_output ${JSON.stringify(expect)} is not a valid regular expression (${reason}); ` +
        "fix the pattern, or drop the surrounding slashes to match a plain substring.",
      "expect_output",
    );
  }
  return {
    kind: "regex",
    test: (output) => {
      regex.lastIndex = 0; // the g and y flags make test() stateful
      return regex.test(output);
    },
    describe: () => `output matching ${expect}`,
  };
}
