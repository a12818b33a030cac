import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * A scratch directory with its own HOME, so the machine's git config cannot leak into a test:
 * no system config, no global config, and no repository above the directory.
 */
export function gitSandbox(prefix: string): { dir: string; remove: () => void } {
  const saved = { ...process.env };
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), prefix)));
  const home = path.join(dir, "home");
  mkdirSync(home);
  process.env.HOME = home;
  process.env.XDG_CONFIG_HOME = home;
  process.env.GIT_CONFIG_NOSYSTEM = "1";
  process.env.GIT_CEILING_DIRECTORIES = dir;
  delete process.env.GIT_CONFIG_GLOBAL;
  return {
    dir,
    remove: () => {
      process.env = saved;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A new repository at `repo` (created) with `files` in one commit, as its user would have it. */
export function committedRepo(repo: string, files: Record<string, string>): string {
  const sh = (...args: string[]) =>
    execFileSync("git", args, { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
  mkdirSync(repo, { recursive: true });
  sh("init", "-q");
  sh("config", "user.name", "Test User");
  sh("config", "user.email", "test@example.com");
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
    writeFileSync(path.join(repo, file), text);
  }
  sh("add", "-A");
  sh("commit", "-q", "-m", "initial");
  return repo;
}
