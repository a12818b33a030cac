import type { ToolCall } from "./types.js";

type Parsed = Pick<ToolCall, "arguments" | "argumentsError">;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Arguments the wire already decoded (Anthropic's `input`): anything but an object is an error. */
export function objectArguments(value: unknown): Parsed {
  if (isPlainObject(value)) return { arguments: value };
  const got = Array.isArray(value) ? "an array" : value === null ? "null" : `a ${typeof value}`;
  return { arguments: {}, argumentsError: `tool arguments must be a JSON object, got ${got}` };
}

/**
 * Arguments as the model wrote them (OpenAI's JSON string, Anthropic's streamed input_json).
 * Never throws: what is not a JSON object comes back as `argumentsError` with `arguments: {}`.
 * An empty string is `{}`: some OpenAI-compatible servers send it for a call with no arguments.
 */
export function parseToolArguments(raw: string): Parsed {
  if (raw.trim() === "") return { arguments: {} };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return {
      arguments: {},
      argumentsError: `tool arguments are not valid JSON (${(err as Error).message}): ${clip(raw, 200)}`,
    };
  }
  return objectArguments(value);
}
