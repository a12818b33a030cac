/** Project names and slugs: lowercase, digits, dashes; never starting with "-" (git argument safety). */
export const SLUG_RE = /^[a-z0-9][a-z0-9-]{0,47}$/;
export const TASK_ID_RE = /^([a-z0-9][a-z0-9-]{0,47})\/(\d{2,4})-([a-z0-9][a-z0-9-]{0,47})$/;
export const LINES_RE = /^(\d+)-(\d+)$/;
/** Templates (repeated work): `<project>/t<NN>-<slug>`. */
export const TEMPLATE_ID_RE = /^([a-z0-9][a-z0-9-]{0,47})\/t(\d{2,4})-([a-z0-9][a-z0-9-]{0,47})$/;
