import { mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
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
