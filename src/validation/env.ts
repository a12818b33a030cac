/**
 * The environment a validation command sees: the server's, minus anything that looks like a
 * credential. Validation lines are written by a model, so they must not be able to read the keys
 * the server itself uses (ANTHROPIC_API_KEY, OPENAI_API_KEY, a model's api_key_env, ...).
 */

const SECRET_NAME_PATTERNS: readonly RegExp[] = [
  /_API_KEY$/i,
  /_TOKEN$/i,
  /_SECRET$/i,
  /PASSWORD/i,
  // Beyond the contract's list: the usual cloud credentials (AWS_SECRET_ACCESS_KEY, CLIENT_SECRET_ID).
  /SECRET/i,
];

const ALWAYS_REMOVED = new Set(["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]);

/** Whether a variable name looks like a credential (case-insensitive). */
export function isSecretName(name: string): boolean {
  return ALWAYS_REMOVED.has(name.toUpperCase()) || SECRET_NAME_PATTERNS.some((p) => p.test(name));
}

/**
 * A copy of `env` without credential-like variables. `extraNames` removes more by exact name,
 * e.g. the `api_key_env` of configured models, whatever they are called.
 */
export function scrubEnv(env: NodeJS.ProcessEnv, extraNames: Iterable<string> = []): NodeJS.ProcessEnv {
  const extra = new Set(extraNames);
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || extra.has(name) || isSecretName(name)) continue;
    out[name] = value;
  }
  return out;
}
