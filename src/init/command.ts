/**
 * `delegate-mcp init`: wire the server into the repository it runs in, for Claude Code. Plans every
 * edit first (a broken .mcp.json stops it before anything is written), then writes, or with
 * --dry-run only shows.
 */
import { mkdir, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIG_FILE } from "../config/schema.js";
import { countTokens } from "../core/token-count.js";
import { writeFileAtomic } from "../store/atomic.js";
import { readTemplate } from "../store/templates.js";
import { findModels } from "./detect.js";
import {
  BLOCK_BEGIN,
  BLOCK_END,
  claudeMdEdit,
  commandFileEdit,
  configEdit,
  type FileEdit,
  mcpJsonEdit,
  type ServerEntry,
  starterConfig,
} from "./edits.js";

async function readIfThere(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

async function isGitRepo(dir: string): Promise<boolean> {
  for (let d = dir; ; d = dirname(d)) {
    // A directory in a repository, a worktree's .git file or a submodule's: all count.
    if (
      await stat(join(d, ".git")).then(
        () => true,
        () => false,
      )
    )
      return true;
    if (dirname(d) === d) return false;
  }
}

/**
 * How Claude Code should start this server: through npx when this copy came from npx (it can fetch
 * it again), else this very file with node (a clone or a global install). No --root: Claude Code
 * sends its project directory as the MCP root.
 */
function serverEntry(env: NodeJS.ProcessEnv): ServerEntry {
  const cli = fileURLToPath(new URL("../cli.js", import.meta.url));
  const keys = ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"].filter((k) => env[k]);
  const withEnv = keys.length ? { env: Object.fromEntries(keys.map((k) => [k, `\${${k}}`])) } : {};
  if (cli.includes(`${"/"}_npx${"/"}`)) return { command: "npx", args: ["-y", "delegate-mcp"], ...withEnv };
  return { command: "node", args: [cli], ...withEnv };
}

/** Tokens the planner is sent on every turn for the tool definitions (what tools/list answers). */
async function toolDefinitionTokens(): Promise<number | null> {
  try {
    const listed = JSON.parse(await readFile(new URL("../tools/listed.json", import.meta.url), "utf8")) as {
      name: string;
      description: string;
      inputSchema: unknown;
    }[];
    const sent = listed.map((t) => ({
      name: t.name,
      description: t.description,
      input_schema: t.inputSchema,
    }));
    return await countTokens(JSON.stringify(sent), "anthropic");
  } catch {
    return null; // running from src: the list is not built
  }
}

export interface InitOptions {
  root?: string | undefined;
  dryRun: boolean;
  print: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export async function initCommand(opts: InitOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const root = resolve(opts.cwd ?? process.cwd(), opts.root ?? ".");
  const block = await readTemplate("claude-md-block.md");
  const found = await findModels(env);
  const at = (rel: string) => join(root, rel);
  const edits: FileEdit[] = [
    mcpJsonEdit(".mcp.json", await readIfThere(at(".mcp.json")), serverEntry(env)),
    claudeMdEdit("CLAUDE.md", await readIfThere(at("CLAUDE.md")), block),
    commandFileEdit(
      ".claude/commands/delegate.md",
      await readIfThere(at(".claude/commands/delegate.md")),
      await readTemplate("delegate-command.md"),
    ),
    configEdit(CONFIG_FILE, await readIfThere(at(CONFIG_FILE)), starterConfig(found)),
  ];

  const say = opts.print;
  say(`delegate-mcp init${opts.dryRun ? " --dry-run (nothing is written)" : ""} in ${root}`);
  const width = Math.max(...edits.map((e) => e.path.length));
  for (const e of edits) {
    const verb =
      opts.dryRun && (e.action === "create" || e.action === "amend") ? `would ${e.action}` : e.action;
    say(`  ${e.path.padEnd(width)}  ${verb}: ${e.note}`);
  }
  if (opts.dryRun) {
    for (const e of edits.filter((x) => x.action === "create" || x.action === "amend")) {
      say(`\n--- ${e.path} (${e.action === "create" ? "new file" : "after the edit"}) ---`);
      say(e.path === "CLAUDE.md" ? shownBlock(e.text) : e.text.trimEnd());
    }
  } else {
    for (const e of edits.filter((x) => x.action === "create" || x.action === "amend")) {
      await mkdir(dirname(at(e.path)), { recursive: true });
      await writeFileAtomic(at(e.path), e.text);
    }
  }

  const blockTokens = await countTokens(`${BLOCK_BEGIN}\n${block.trim()}\n${BLOCK_END}\n`, "anthropic");
  const toolTokens = await toolDefinitionTokens();
  say(
    `\nEvery planner turn: +${blockTokens} tokens for the CLAUDE.md block` +
      (toolTokens !== null ? ` and ${toolTokens} for the delegate tool definitions` : "") +
      " (o200k count × 1.2 for Claude). The /delegate command costs tokens only when used.",
  );
  if (!(await isGitRepo(root)))
    say(
      `Note: ${root} is not a git repository; dispatch needs one (git init && git commit), the other tools work.`,
    );
  say(
    'Next: start Claude Code here, approve the "delegate" server it asks about, then /delegate <work> ' +
      '(or ask it to delegate). Try it without a key: dispatch with model "scripted".',
  );
  return 0;
}

/** The block as CLAUDE.md will hold it, without the user's own text around it. */
function shownBlock(text: string): string {
  const begin = text.indexOf(BLOCK_BEGIN);
  const end = text.indexOf(BLOCK_END, begin);
  return begin >= 0 && end > begin ? text.slice(begin, end + BLOCK_END.length) : text.trimEnd();
}
