import type { z } from "zod";
import { shown } from "./errors.js";

/** `["files_to_read", 1, "lines"]` → `files_to_read[1].lines`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

function describeType(expected: string): string {
  if (expected === "array") return "a list";
  if (expected === "object") return "an object";
  if (expected === "int" || expected === "integer") return "an integer";
  return `a ${expected}`;
}

/**
 * One sentence for a zod issue, naming the field and the fix, e.g.
 * `files_to_read[1].lines must look like START-END, e.g. 10-40.`
 */
export function describeIssue(issue: z.core.$ZodIssue, prefix = ""): string {
  const at = (extra: readonly PropertyKey[] = []) =>
    fieldPath([...(prefix ? [prefix] : []), ...issue.path, ...extra]) || "arguments";
  switch (issue.code) {
    case "unrecognized_keys": {
      // Keys are the caller's text: a few at most, each cut short, so the sentence stays short.
      const named = issue.keys.slice(0, 3).map((k) => `"${shown(k, 40)}"`);
      const keys = `${named.join(", ")}${issue.keys.length > 3 ? ` and ${issue.keys.length - 3} more` : ""}`;
      const where = issue.path.length ? ` in ${at()}` : "";
      return `Unknown field ${keys}${where}; remove it (unknown fields are not accepted).`;
    }
    case "invalid_type": {
      // zod 4 leaves `input` out of issues unless asked (reportInput), so fall back to its message.
      const missing =
        "input" in issue ? issue.input === undefined : /received undefined$/.test(issue.message);
      if (missing) return `${at()} is required; add it.`;
      return `${at()} must be ${describeType(issue.expected)}.`;
    }
    case "invalid_value": {
      const values = issue.values.map((v) => JSON.stringify(v)).join(", ");
      return `${at()} must be one of ${values}.`;
    }
    case "too_small": {
      if (issue.origin === "array") return `${at()} must have at least ${issue.minimum} item(s).`;
      if (issue.origin === "string") return `${at()} must be at least ${issue.minimum} character(s) long.`;
      return `${at()} must be ${issue.inclusive ? "at least" : "greater than"} ${issue.minimum}.`;
    }
    case "too_big": {
      if (issue.origin === "array")
        return `${at()} must have at most ${issue.maximum} item(s); split the work.`;
      if (issue.origin === "string") {
        const command = issue.path[0] === "commands" || issue.path[issue.path.length - 1] === "run";
        return `${at()} must be at most ${issue.maximum} characters long; shorten it${command ? " (put a long script in a file and run the file)" : ""}.`;
      }
      return `${at()} must be ${issue.inclusive ? "at most" : "less than"} ${issue.maximum}.`;
    }
    default: {
      const msg = issue.message.replace(/\.$/, "");
      return `${at()} ${/^(must|is|has)\b/.test(msg) ? msg : `is invalid: ${msg}`}.`;
    }
  }
}

function isMissing(issue: z.core.$ZodIssue): boolean {
  if (issue.code !== "invalid_type") return false;
  return "input" in issue ? issue.input === undefined : /received undefined$/.test(issue.message);
}

/** Sentences in one answer at most: a caller sends few wrong fields at once, and the text stays bounded. */
const MAX_SENTENCES = 6;

/**
 * Every issue at once, so the caller fixes them all in one round: the missing required fields in
 * one sentence ("Missing required fields: project, title; add them."), then one sentence per
 * other issue, at most MAX_SENTENCES and a count of the rest.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], prefix = ""): string {
  const missing = issues.filter(isMissing);
  const sentences: string[] = [];
  if (missing.length === 1) sentences.push(describeIssue(missing[0]!, prefix));
  else if (missing.length > 1) {
    const names = missing.map((i) => fieldPath([...(prefix ? [prefix] : []), ...i.path]) || "arguments");
    const more = names.length > 10 ? ` and ${names.length - 10} more` : "";
    sentences.push(`Missing required fields: ${names.slice(0, 10).join(", ")}${more}; add them.`);
  }
  for (const issue of issues) if (!isMissing(issue)) sentences.push(describeIssue(issue, prefix));
  if (sentences.length <= MAX_SENTENCES) return sentences.join(" ");
  const rest = sentences.length - MAX_SENTENCES;
  return `${sentences.slice(0, MAX_SENTENCES).join(" ")} (${rest} more issue(s) after these are fixed.)`;
}
