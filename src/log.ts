/**
 * The server's only logger. stdout is the MCP channel, so every line goes to stderr.
 * DELEGATE_LOG=debug|info|warn|error|silent sets the threshold (default info).
 */
const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = Exclude<keyof typeof levels, "silent">;

function threshold(): number {
  const name = (process.env.DELEGATE_LOG ?? "info") as keyof typeof levels;
  return levels[name] ?? levels.info;
}

function write(level: Level, message: string, fields?: Record<string, unknown>): void {
  if (levels[level] < threshold()) return;
  const extra = fields ? ` ${JSON.stringify(fields)}` : "";
  process.stderr.write(`[delegate-mcp] ${level}: ${message}${extra}\n`);
}

export const log = {
  debug: (m: string, f?: Record<string, unknown>) => write("debug", m, f),
  info: (m: string, f?: Record<string, unknown>) => write("info", m, f),
  warn: (m: string, f?: Record<string, unknown>) => write("warn", m, f),
  error: (m: string, f?: Record<string, unknown>) => write("error", m, f),
};
