import { PLACEHOLDER_SOURCE } from "./ids.js";
import type { LintIssue, MiniTaskSpec, Target } from "./mini-task.js";

const PLACEHOLDER = new RegExp(PLACEHOLDER_SOURCE, "g");

/** One task's spec per target, or the errors that stop the expansion (nothing is expanded then). */
export interface Expansion {
  specs: { spec: MiniTaskSpec; target: Target }[];
  errors: LintIssue[];
}

/** Every `[field, text]` of a spec that may carry placeholders. */
function templatedTexts(spec: MiniTaskSpec): [string, string][] {
  return [
    ["title", spec.title],
    ["objective", spec.objective],
    ["context", spec.context ?? ""],
    ...spec.files_to_read.flatMap((f, i): [string, string][] => [
      [`files_to_read[${i}].path`, f.path],
      [`files_to_read[${i}].lines`, f.lines ?? ""],
    ]),
    ...spec.files_to_modify.map((f, i): [string, string] => [`files_to_modify[${i}].path`, f.path]),
    ...spec.steps.map((s, i): [string, string] => [`steps[${i}]`, s]),
    ...spec.snippets.flatMap((s, i): [string, string][] => [
      [`snippets[${i}].code`, s.code],
      [`snippets[${i}].purpose`, s.purpose ?? ""],
    ]),
    ...spec.acceptance_criteria.map((s, i): [string, string] => [`acceptance_criteria[${i}]`, s]),
    ...spec.validation.flatMap((v, i): [string, string][] => [
      [`validation[${i}].run`, v.run],
      [`validation[${i}].expect_output`, v.expect_output ?? ""],
    ]),
  ];
}

function fill(text: string, target: Target): string {
  return text.replace(PLACEHOLDER, (_, name: string) => target[name] ?? "");
}

function fillSpec(spec: MiniTaskSpec, target: Target): MiniTaskSpec {
  const f = (t: string) => fill(t, target);
  const titled = PLACEHOLDER.test(spec.title);
  PLACEHOLDER.lastIndex = 0;
  // Without a placeholder in the title, the target's values tell the tasks apart.
  const title = titled ? f(spec.title) : `${spec.title} (${Object.values(target).join(", ")})`;
  const { targets: _targets, ...rest } = spec;
  return {
    ...rest,
    title: title.slice(0, 120),
    objective: f(spec.objective),
    ...(spec.context !== undefined ? { context: f(spec.context) } : {}),
    files_to_read: spec.files_to_read.map((x) => ({
      ...x,
      path: f(x.path),
      ...(x.lines !== undefined ? { lines: f(x.lines) } : {}),
    })),
    files_to_modify: spec.files_to_modify.map((x) => ({ ...x, path: f(x.path) })),
    steps: spec.steps.map(f),
    snippets: spec.snippets.map((x) => ({
      ...x,
      code: f(x.code),
      ...(x.purpose !== undefined ? { purpose: f(x.purpose) } : {}),
    })),
    acceptance_criteria: spec.acceptance_criteria.map(f),
    validation: spec.validation.map((v) => ({
      ...v,
      run: f(v.run),
      ...(v.expect_output !== undefined ? { expect_output: f(v.expect_output) } : {}),
    })),
  };
}

/**
 * A template spec (one with `targets`) as one spec per target, `{{name}}` filled from the target.
 * A placeholder some target has no value for is an error naming the target and the field; a spec
 * without targets comes back as itself.
 */
export function expandTemplate(spec: MiniTaskSpec): Expansion {
  const targets = spec.targets;
  if (!targets) return { specs: [{ spec, target: {} }], errors: [] };
  const used = new Map<string, string>();
  for (const [field, text] of templatedTexts(spec)) {
    for (const m of text.matchAll(PLACEHOLDER)) if (!used.has(m[1]!)) used.set(m[1]!, field);
  }
  const errors: LintIssue[] = [];
  if (used.size === 0)
    errors.push({
      level: "error",
      field: "targets",
      message:
        "targets is set but the spec has no {{variable}} placeholder; add one (e.g. in a path) or drop targets.",
    });
  targets.forEach((target, i) => {
    const missing = [...used].filter(([name]) => target[name] === undefined);
    if (missing.length)
      errors.push({
        level: "error",
        field: `targets[${i}]`,
        message: `targets[${i}] has no value for ${missing.map(([n, f]) => `{{${n}}} (used in ${f})`).join(", ")}; add it.`,
      });
  });
  if (errors.length) return { specs: [], errors };
  return { specs: targets.map((target) => ({ spec: fillSpec(spec, target), target })), errors: [] };
}
