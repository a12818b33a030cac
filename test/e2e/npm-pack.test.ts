import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, cleanEnv, makeRepo, PROJECT_ROOT, removeDir } from "./harness.js";

const run = promisify(execFile);
const VERSION: string = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")).version;

interface Served {
  manifest: { name: string; version: string } & Record<string, unknown>;
  file: string;
  integrity: string;
}

/**
 * The production dependencies `npm ci` installed (every lockfile entry that is not dev-only), one
 * per name@version, each archived from its node_modules directory into `into`. An archive holds the
 * package's own files under one top directory, which npm strips as it does the registry's `package/`;
 * a plain tar is fine, npm detects gzip. An optional entry this platform skipped is left out.
 */
function archiveInstalled(into: string): Served[] {
  const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, "package-lock.json"), "utf8"));
  const served = new Map<string, Served>();
  for (const [path, entry] of Object.entries<{ dev?: boolean; optional?: boolean }>(lock.packages)) {
    if (path === "" || entry.dev) continue;
    const dir = join(PROJECT_ROOT, path);
    if (!existsSync(join(dir, "package.json"))) {
      if (entry.optional) continue;
      throw new Error(`${path} is in package-lock.json but not installed: run npm ci`);
    }
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const id = `${manifest.name}@${manifest.version}`;
    if (served.has(id)) continue;
    const file = join(into, `${served.size}.tar`);
    execFileSync("tar", ["-cf", file, "--exclude=node_modules", "-C", dirname(dir), basename(dir)]);
    const integrity = `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;
    served.set(id, { manifest, file, integrity });
  }
  return [...served.values()];
}

/**
 * A package registry on 127.0.0.1 serving exactly the packages `npm ci` installed (archiveInstalled):
 * an install from it resolves the tarball's declared dependencies as the real registry would, with
 * no other host contacted and nothing from the user's npm cache. `misses` lists what it had not.
 */
async function startRegistry(packages: Served[]): Promise<{ url: string; server: Server; misses: string[] }> {
  const byName = new Map<string, Served[]>();
  for (const p of packages) byName.set(p.manifest.name, [...(byName.get(p.manifest.name) ?? []), p]);
  const misses: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname.slice(1));
    const tarball = /^-\/(\d+)\.tar$/.exec(path);
    if (req.method === "GET" && tarball && packages[Number(tarball[1])]) {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(readFileSync(packages[Number(tarball[1])].file));
      return;
    }
    const versions = req.method === "GET" ? byName.get(path) : undefined;
    if (!versions) {
      misses.push(path);
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"Not found"}');
      return;
    }
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const packument = {
      name: path,
      "dist-tags": { latest: versions[versions.length - 1].manifest.version },
      versions: Object.fromEntries(
        versions.map((p) => [
          p.manifest.version,
          {
            ...p.manifest,
            _id: `${p.manifest.name}@${p.manifest.version}`,
            dist: { tarball: `${base}/-/${packages.indexOf(p)}.tar`, integrity: p.integrity },
          },
        ]),
      ),
    };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(packument));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, misses };
}

/** The names a package lists as optional dependencies or optional peers: npm may look them up. */
function optionalNames(packages: Served[]): Set<string> {
  const names = new Set<string>();
  for (const { manifest } of packages) {
    const { optionalDependencies = {}, peerDependenciesMeta = {} } = manifest as {
      optionalDependencies?: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    };
    for (const name of Object.keys(optionalDependencies)) names.add(name);
    for (const [name, meta] of Object.entries(peerDependenciesMeta)) if (meta.optional) names.add(name);
  }
  return names;
}

/**
 * `npm pack`, then the literal `npx <tarball> --version` and `npx <tarball> demo` from an empty
 * directory. npx installs the tarball's dependencies as a user's would, from a registry on
 * 127.0.0.1 (startRegistry), with npm's config, cache and npx cache all fresh, in a temp dir.
 */
describe("npm pack", { timeout: 240_000 }, () => {
  let dir: string;
  let pkg: string;
  let tarball: string;
  let npmEnv: Record<string, string>;
  let packages: Served[];
  let registry: Awaited<ReturnType<typeof startRegistry>> | undefined;

  beforeAll(async () => {
    assertBuilt();
    dir = makeRepo({ "user.npmrc": "", "global.npmrc": "" }, { git: false });
    // No npm setting of the caller (user npmrc, the npm running this suite) applies: only these.
    npmEnv = Object.fromEntries(Object.entries(cleanEnv()).filter(([k]) => !/^npm_config_/i.test(k)));
    Object.assign(npmEnv, {
      npm_config_userconfig: join(dir, "user.npmrc"),
      npm_config_globalconfig: join(dir, "global.npmrc"),
      npm_config_cache: join(dir, "npm-cache"),
      npm_config_audit: "false",
      npm_config_fund: "false",
      npm_config_update_notifier: "false",
      // Any host but the registry below would go through this proxy, where nothing listens.
      npm_config_proxy: "http://127.0.0.1:9/",
      npm_config_https_proxy: "http://127.0.0.1:9/",
      npm_config_noproxy: "127.0.0.1",
    });
    const packed = execFileSync("npm", ["pack", "--json", "--pack-destination", dir], {
      cwd: PROJECT_ROOT,
      env: { ...npmEnv, npm_config_offline: "true" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    tarball = JSON.parse(packed)[0].filename;
    execFileSync("tar", ["xzf", join(dir, tarball), "-C", dir]);
    pkg = join(dir, "package");

    mkdirSync(join(dir, "registry"));
    packages = archiveInstalled(join(dir, "registry"));
    registry = await startRegistry(packages);
    npmEnv.npm_config_registry = registry.url;
  }, 120_000);
  afterAll(async () => {
    const server = registry?.server;
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    removeDir(dir);
  });

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

  it("npx <tarball> --version and npx <tarball> demo run from an empty directory", async () => {
    const empty = join(dir, "empty");
    mkdirSync(empty);
    // A relative path: given an absolute path that exists, npx runs that file instead of installing it.
    const npx = (arg: string) =>
      run("npx", ["--yes", `../${tarball}`, arg], {
        cwd: empty,
        env: npmEnv,
        timeout: 200_000,
        maxBuffer: 64 << 20,
      }).catch((e: { message: string; stdout?: string; stderr?: string }) => {
        throw new Error(`npx ../${tarball} ${arg}: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
      });
    const version = await npx("--version");
    expect(version.stdout.trim()).toBe(VERSION);
    // Everything npm looked up and did not get is an optional dependency npm ci left out as well.
    const optional = optionalNames(packages);
    expect(registry?.misses.filter((name) => !optional.has(name))).toEqual([]);
    // The second run reuses the install in the (fresh) npx cache.
    const demo = await npx("demo");
    expect(demo.stdout).toMatch(/demo\/01-add-truncate: passed/);
    expect(demo.stdout).toMatch(/Savings/);
  });
});
