/**
 * The project-log resource reads LOG.md through the one safe-path check: a project folder that is
 * a symlink to outside the workspace is refused, not read.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createServer, type DelegateServer } from "../../../src/server.js";

let root: string;
let running: DelegateServer | undefined;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "delegate-log-resource-"));
});
afterEach(async () => {
  await running?.cleanup();
  running = undefined;
  await rm(root, { recursive: true, force: true });
});

async function readLog(workspace: string, project: string) {
  running = createServer({ root: workspace, env: { DELEGATE_LOG: "silent" } });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await running.server.connect(serverSide);
  const client = new Client({ name: "log-test", version: "1" });
  await client.connect(clientSide);
  return client.readResource({ uri: `delegate://projects/${project}/log` });
}

describe("delegate://projects/{project}/log", () => {
  it("reads a project's LOG.md", async () => {
    const ws = join(root, "ws");
    await mkdir(join(ws, "mini-projects", "calc"), { recursive: true });
    await writeFile(join(ws, "mini-projects", "calc", "LOG.md"), "# calc\n");
    const r = await readLog(ws, "calc");
    expect(r.contents[0]).toMatchObject({ text: "# calc\n" });
  });

  it("refuses a project folder that leads outside the workspace", async () => {
    const ws = join(root, "ws");
    const outside = join(root, "outside");
    await mkdir(join(ws, "mini-projects"), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, "LOG.md"), "secret\n");
    await symlink(outside, join(ws, "mini-projects", "calc"));
    await expect(readLog(ws, "calc")).rejects.toThrow(/outside the workspace|symlink/i);
  });
});
