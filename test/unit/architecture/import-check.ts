/** Checks the imports of source files against the layer list (layers.ts). */
import { builtinModules } from "node:module";
import { posix } from "node:path";
import ts from "typescript";
import { type Layer, MODULE_GROUPS, type ModuleGroup } from "./layers.js";

export interface SourceFile {
  /** Relative to the repository, with forward slashes: "src/core/usage.ts". */
  path: string;
  text: string;
}

const BUILTINS = new Set(builtinModules);

/** Every module a file imports: static, type-only, re-exports and dynamic import() alike. */
export function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

const stem = (path: string) => path.replace(/\.[cm]?[jt]s$/, "");

/** The layer owning a path relative to src/ (an import's ".js" names the ".ts" file), or undefined. */
export function layerOf(srcPath: string, layers: Layer[]): Layer | undefined {
  return layers.find((l) =>
    l.owns.some((o) => (o.endsWith("/") ? srcPath.startsWith(o) : stem(srcPath) === stem(o))),
  );
}

function groupOf(specifier: string): ModuleGroup | undefined {
  const bare = specifier.startsWith("node:") ? specifier.slice(5) : specifier;
  for (const [name, group] of Object.entries(MODULE_GROUPS) as [
    ModuleGroup,
    (typeof MODULE_GROUPS)[ModuleGroup],
  ][]) {
    if (BUILTINS.has(bare) && (group.builtins as readonly string[]).includes(bare)) return name;
    if (group.packages.some((p) => specifier === p || specifier.startsWith(`${p}/`))) return name;
  }
  return undefined;
}

/** One sentence per import that breaks the rules, naming the file, the import and the rule. */
export function checkLayers(files: SourceFile[], layers: Layer[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const srcPath = posix.relative("src", file.path);
    const layer = layerOf(srcPath, layers);
    if (!layer) {
      problems.push(`${file.path} belongs to no layer; add it to a layer's "owns" in layers.ts.`);
      continue;
    }
    for (const specifier of importsOf(file.text)) {
      if (specifier.startsWith(".")) {
        const target = posix.normalize(posix.join(posix.dirname(srcPath), specifier));
        const to = target.startsWith("../") ? undefined : layerOf(target, layers);
        if (!to) {
          problems.push(`${file.path} imports ${specifier}, which is in no layer of src/.`);
        } else if (to !== layer && !layer.mayImport.includes(to.name)) {
          problems.push(`${file.path} imports ${specifier}: ${layer.name} may not import ${to.name}.`);
        }
        continue;
      }
      const group = groupOf(specifier);
      if (group && layer.mayNotUse.includes(group)) {
        problems.push(`${file.path} imports ${specifier}: ${layer.name} may not use ${group} modules.`);
      }
    }
  }
  return problems;
}
