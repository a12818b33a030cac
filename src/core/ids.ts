/** Project names and slugs: lowercase, digits, dashes; never starting with "-" (git argument safety). */
export const SLUG_RE = /^[a-z0-9][a-z0-9-]{0,47}$/;
export const TASK_ID_RE = /^([a-z0-9][a-z0-9-]{0,47})\/(\d{2,4})-([a-z0-9][a-z0-9-]{0,47})$/;
export const LINES_RE = /^(\d+)-(\d+)$/;
/**
 * What a spec's `lines` may say: a range, or in a template a `{{name}}` for the whole range or
 * either end (one range per target). Lint checks the range after the template is filled in.
 */
export const LINES_INPUT_RE =
  /^(?:\{\{\s*[A-Za-z_]\w*\s*\}\}|(?:\d+|\{\{\s*[A-Za-z_]\w*\s*\}\})-(?:\d+|\{\{\s*[A-Za-z_]\w*\s*\}\}))$/;
/** Templates (repeated work): `<project>/t<NN>-<slug>`. */
export const TEMPLATE_ID_RE = /^([a-z0-9][a-z0-9-]{0,47})\/t(\d{2,4})-([a-z0-9][a-z0-9-]{0,47})$/;
