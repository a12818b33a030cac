import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, cleanEnv, makeRepo, PROJECT_ROOT, removeDir } from "./harness.js";

/**
 * The packed tarball, unpacked into an empty directory, runs from there. Offline on purpose: its
 * dependencies come from this project's node_modules (linked beside the unpacked package) instead
 * of an install, which would need the registry.
 */
describe("npm pack", { timeout: 240_000 }, () => {
  let dir: string;
  let pkg: string;
  let tarball: string;

  beforeAll(() => {
    assertBuilt();
    dir = makeRepo({}, { git: false });
    const packed = execFileSync("npm", ["pack", "--json", "--pack-destination", dir], {
      cwd: PROJECT_ROOT,
      env: cleanEnv({ npm_config_offline: "true", npm_config_audit: "false", npm_config_fund: "false" }),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    tarball = join(dir, JSON.parse(packed)[0].filename);
    execFileSync("tar", ["xzf", tarball, "-C", dir]);
    pkg = join(dir, "package");
    symlinkSync(join(PROJECT_ROOT, "node_modules"), join(pkg, "node_modules"), "dir");
  }, 120_000);
  afterAll(() => removeDir(dir));

  // `repository` is left for the owner to set: no real home of the project is known here.
  it("is registry-ready: bin, files, engines, keywords", () => {
    const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
    expect(manifest.bin).toEqual({ "delegate-mcp": "dist/cli.js" });
    expect(manifest.engines.node).toBe(">=20");
    expect(manifest.keywords).toEqual(expect.arrayContaining(["mcp", "claude-code"]));
    const bin = join(pkg, "dist/cli.js");
    expect(readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    for (const f of [
      "templates/claude-md-block.md",
      "templates/executor-system.md",
      "dist/tools/listed.json",
    ])
      expect(statSync(join(pkg, f)).isFile(), f).toBe(true);
  });

  it("runs --version and the demo from an empty directory", () => {
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const bin = join(pkg, "dist/cli.js");
    const version = spawnSync(bin, ["--version"], { cwd: empty, env: cleanEnv(), encoding: "utf8" });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(
      JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")).version,
    );
    const demo = spawnSync(bin, ["demo"], {
      cwd: empty,
      env: cleanEnv(),
      encoding: "utf8",
      timeout: 180_000,
    });
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/demo\/01-add-truncate: passed/);
    expect(demo.stdout).toMatch(/Savings/);
  });
});
