/**
 * Before dispatch we estimate what the executor will use. The loop re-sends the conversation each
 * turn; a typical task takes EXPECTED_TURNS turns (edit, run_validation, finish).
 */
export const EXPECTED_TURNS = 3;

/** Output tokens: a fixed overhead per task plus what the steps and snippets imply. */
export function estimateOutputTokens(parts: {
  steps: number;
  snippetTokens: number;
  createTokens: number;
}): number {
  return Math.max(300, 120 + 150 * parts.steps + parts.snippetTokens + parts.createTokens);
}

/** Total input tokens over the expected turns: the prompt every turn, plus earlier turns' output. */
export function estimateInputTokens(
  promptTokens: number,
  outputTokens: number,
  turns = EXPECTED_TURNS,
): number {
  const perTurnOutput = outputTokens / turns;
  return Math.round(promptTokens * turns + (perTurnOutput * (turns * (turns - 1))) / 2);
}
