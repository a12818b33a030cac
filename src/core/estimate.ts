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

/** Longest run without whitespace handed to the tokenizer in one piece. */
export const TOKENIZER_RUN_MAX = 400;

/**
 * `text` cut inside runs of more than TOKENIZER_RUN_MAX non-whitespace characters. BPE costs grow with
 * the square of such a run (a minified line, base64, a pasted blob), so the caller counts the
 * pieces one by one; the sum differs from the whole's count by at most a token per cut.
 */
export function tokenizerPieces(text: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 9 || c === 13) {
      run = 0;
      continue;
    }
    if (++run >= TOKENIZER_RUN_MAX) {
      pieces.push(text.slice(start, i + 1));
      start = i + 1;
      run = 0;
    }
  }
  pieces.push(text.slice(start));
  return pieces;
}
