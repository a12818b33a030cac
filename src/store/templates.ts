import { readFile } from "node:fs/promises";

// templates/ sits at the package root: two levels up from both src/store and dist/store.
const TEMPLATES = new URL("../../templates/", import.meta.url);
const cache = new Map<string, Promise<string>>();

export function readTemplate(
  name:
    | "mini-task.md"
    | "executor-system.md"
    | "executor-codex.md"
    | "plan-delegation.md"
    | "verify-delegation.md"
    | "claude-md-block.md"
    | "delegate-command.md",
): Promise<string> {
  let text = cache.get(name);
  if (!text) {
    text = readFile(new URL(name, TEMPLATES), "utf8");
    cache.set(name, text);
  }
  return text;
}
