/**
 * The environment a validation command sees: the server's, minus anything that looks like a
 * credential. Validation lines are written by a model, so they must not be able to read the keys
 * the server itself uses (ANTHROPIC_API_KEY, OPENAI_API_KEY, a model's api_key_env, ...).
 *
 * The rule (SECURITY.md lists it), case-insensitive, checked in this order:
 * 1. always removed: ANTHROPIC_API_KEY, OPENAI_API_KEY and the names the caller adds;
 * 2. always kept: ALLOWED below (harmless names the patterns would otherwise catch);
 * 3. removed by name: `*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*SECRET*`, `*PASSWORD*`, a `KEY` word
 *    (`_`-separated, optionally prefixed: `API_KEY`, `OPENAI_KEY`, `X_APIKEY`, `AWS_ACCESS_KEY_ID`),
 *    a `PAT` word (`GITHUB_PAT`), `*AUTH*` but not `AUTHOR*` (`npm_config__authToken`,
 *    `NODE_AUTH_TOKEN`, `OAUTH_CLIENT`), `*CREDENTIAL*`;
 * 4. removed by value: any other name containing `KEY` whose value has a credential's shape (at
 *    least 16 characters, no whitespace, letters and digits, not a path).
 */

const SECRET_NAME_PATTERNS: readonly RegExp[] = [
  /_API_KEY$/i,
  /_TOKEN$/i,
  /_SECRET$/i,
  /PASSWORD/i,
  // Beyond the contract's list: the usual cloud credentials (AWS_SECRET_ACCESS_KEY, CLIENT_SECRET_ID).
  /SECRET/i,
  /(^|_)[A-Z0-9]*KEYS?($|_)/i,
  /(^|_)PAT($|_)/i,
  /AUTH(?!OR)/i,
  /CREDENTIAL/i,
];

const ALWAYS_REMOVED = new Set(["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]);

/** Harmless names that the patterns above would remove; commands and tools rely on them. */
export const ALLOWED_NAMES: ReadonlySet<string> = new Set([
  "KEYBOARD",
  "KEYMAP",
  "KEYTIMEOUT",
  "XKB_DEFAULT_KEYMAP",
  "SSH_AUTH_SOCK",
  "XAUTHORITY",
]);

/** Whether a variable name looks like a credential (case-insensitive), whatever its value. */
export function isSecretName(name: string): boolean {
  const upper = name.toUpperCase();
  if (ALWAYS_REMOVED.has(upper)) return true;
  if (ALLOWED_NAMES.has(upper)) return false;
  return SECRET_NAME_PATTERNS.some((p) => p.test(name));
}

/** A value that could be a key: long, one word, letters and digits, not a file path. */
function hasCredentialShape(value: string): boolean {
  return (
    value.length >= 16 &&
    !/\s/.test(value) &&
    !/^[./~]/.test(value) &&
    /[A-Za-z]/.test(value) &&
    /[0-9]/.test(value)
  );
}

/** Whether the variable is a credential by its name, or by a KEY in its name and its value's shape. */
export function isSecret(name: string, value: string): boolean {
  if (isSecretName(name)) return true;
  if (ALLOWED_NAMES.has(name.toUpperCase())) return false;
  return /KEY/i.test(name) && hasCredentialShape(value);
}

/**
 * A copy of `env` without credential-like variables. `extraNames` removes more by exact name,
 * e.g. the `api_key_env` of configured models, whatever they are called.
 */
export function scrubEnv(env: NodeJS.ProcessEnv, extraNames: Iterable<string> = []): NodeJS.ProcessEnv {
  const extra = new Set(extraNames);
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || extra.has(name) || isSecret(name, value)) continue;
    out[name] = value;
  }
  return out;
}
