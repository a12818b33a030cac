/** Project names and slugs: lowercase, digits, dashes; never starting with "-" (git argument safety). */
export const SLUG_RE = /^[a-z0-9][a-z0-9-]{0,47}$/;
export const TASK_ID_RE = /^([a-z0-9][a-z0-9-]{0,47})\/(\d{2,4})-([a-z0-9][a-z0-9-]{0,47})$/;
export const LINES_RE = /^(\d+)-(\d+)$/;
/** A template's `{{name}}` placeholder (the name captured); src/core/template.ts fills them in. */
export const PLACEHOLDER_SOURCE = String.raw`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`;
/**
 * What a spec's `lines` may say: a range, or in a template a placeholder for the whole range or
 * either end (one range per target). Lint checks the range after the template is filled in.
 */
export const LINES_INPUT_RE = new RegExp(
  `^(?:${PLACEHOLDER_SOURCE}|(?:\\d+|${PLACEHOLDER_SOURCE})-(?:\\d+|${PLACEHOLDER_SOURCE}))$`,
);
/** Templates (repeated work): `<project>/t<NN>-<slug>`. */
export const TEMPLATE_ID_RE = /^([a-z0-9][a-z0-9-]{0,47})\/t(\d{2,4})-([a-z0-9][a-z0-9-]{0,47})$/;
