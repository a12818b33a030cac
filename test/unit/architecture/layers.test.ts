/**
 * The layer rules (layers.ts) hold for every file in src/, and the checker does catch a forbidden
 * import: it is fed made-up files that break each rule.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkLayers, importsOf, type SourceFile } from "./import-check.js";
import { LAYERS } from "./layers.js";

const repo = fileURLToPath(new URL("../../../", import.meta.url));

async function sourceFiles(): Promise<SourceFile[]> {
  const entries = await readdir(join(repo, "src"), { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && e.name.endsWith(".ts"));
  return Promise.all(
    files.map(async (e) => {
      const full = join(e.parentPath, e.name);
      return { path: relative(repo, full).split("\\").join("/"), text: await readFile(full, "utf8") };
    }),
  );
}

describe("layer rules", () => {
  it("every import in src/ keeps to them", async () => {
    const files = await sourceFiles();
    expect(files.length).toBeGreaterThan(50);
    expect(checkLayers(files, LAYERS)).toEqual([]);
  });

  it("the list itself is sound: known names, each layer only looks inward", () => {
    const order = LAYERS.map((l) => l.name);
    for (const [i, layer] of LAYERS.entries()) {
      for (const name of layer.mayImport) {
        expect(order, `${layer.name} may import unknown layer ${name}`).toContain(name);
        expect(order.indexOf(name), `${layer.name} may import ${name}, listed after it`).toBeLessThan(i);
      }
    }
  });

  it("sees static, type-only, re-exported and dynamic imports, and none in comments or strings", () => {
    const text = [
      'import { a } from "./a.js";',
      'import type { B } from "./b.js";',
      'export * from "./c.js";',
      'type D = typeof import("./d.js");',
      'const e = async () => await import("./e.js");',
      '// import("./in-a-comment.js")',
      'const s = "import(\\"./in-a-string.js\\")";',
    ].join("\n");
    expect(importsOf(text)).toEqual(["./a.js", "./b.js", "./c.js", "./d.js", "./e.js"]);
  });

  it("reports each kind of forbidden import", () => {
    const file = (path: string, ...imports: string[]): SourceFile => ({
      path,
      text: imports.map((m, i) => `import * as m${i} from "${m}";`).join("\n"),
    });
    const problems = checkLayers(
      [
        file("src/core/clock.ts", "node:fs/promises", "child_process", "node:net", "../store/tasks.js"),
        file("src/store/priced.ts", "../providers/create.js", "@modelcontextprotocol/sdk/server/mcp.js"),
        file("src/validation/keys.ts", "../providers/types.js"),
        { path: "src/providers/loop.ts", text: 'const x = await import("../executor/loop.js");' },
        {
          path: "src/executor/notify.ts",
          text: 'import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";',
        },
        file("src/tools/ok.ts", "../executor/dispatch.js", "../core/usage.js", "zod"),
        file("src/config/up.ts", "../tools/define.js"),
        file("src/stray.ts", "./core/usage.js"),
        file("src/core/escape.ts", "../../package.json"),
      ],
      LAYERS,
    );
    expect(problems).toEqual([
      "src/core/clock.ts imports node:fs/promises: core may not use io modules.",
      "src/core/clock.ts imports child_process: core may not use io modules.",
      "src/core/clock.ts imports node:net: core may not use io modules.",
      "src/core/clock.ts imports ../store/tasks.js: core may not import store.",
      "src/store/priced.ts imports ../providers/create.js: store may not import providers.",
      "src/store/priced.ts imports @modelcontextprotocol/sdk/server/mcp.js: store may not use mcp modules.",
      "src/validation/keys.ts imports ../providers/types.js: validation may not import providers.",
      "src/providers/loop.ts imports ../executor/loop.js: providers may not import executor.",
      "src/executor/notify.ts imports @modelcontextprotocol/sdk/server/mcp.js: executor may not use mcp modules.",
      "src/config/up.ts imports ../tools/define.js: config may not import tools.",
      'src/stray.ts belongs to no layer; add it to a layer\'s "owns" in layers.ts.',
      "src/core/escape.ts imports ../../package.json, which is in no layer of src/.",
    ]);
  });
});
