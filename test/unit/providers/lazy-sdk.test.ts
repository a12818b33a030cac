/**
 * Starting the server must not load either provider SDK: a child process imports create.ts with
 * a module hook recording every resolved URL, then creates one model of each provider. The later
 * steps show the detector does see an SDK once it loads.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const probe = fileURLToPath(new URL("./fixtures/sdk-import-probe.mjs", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

it("loads each SDK only when a model of that provider is created", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", probe], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, DELEGATE_LOG: "silent" },
    timeout: 20_000,
  });
  expect(JSON.parse(stdout)).toEqual({
    afterImport: { anthropic: false, openai: false },
    afterAnthropic: { anthropic: true, openai: false },
    afterOpenAI: { anthropic: true, openai: true },
  });
});
