/**
 * The layers of src/, innermost first: what each folder owns and what it may import. This list is
 * the rule; layers.test.ts checks every import in src/ against it, and the README's map follows it.
 */

/** Modules a layer may be barred from, by what they do. */
export const MODULE_GROUPS = {
  /** Node built-ins that touch the disk, the network, other processes, the clock or the host. */
  io: {
    builtins: [
      "fs",
      "fs/promises",
      "child_process",
      "net",
      "http",
      "https",
      "http2",
      "dgram",
      "dns",
      "dns/promises",
      "tls",
      "os",
      "worker_threads",
      "cluster",
      "readline",
      "readline/promises",
      "repl",
      "tty",
      "inspector",
      "process",
      "timers",
      "timers/promises",
      "perf_hooks",
      "module",
      "v8",
      "vm",
    ],
    packages: ["execa", "simple-git"],
  },
  mcp: { builtins: [], packages: ["@modelcontextprotocol/sdk"] },
  "provider-sdks": { builtins: [], packages: ["@anthropic-ai/sdk", "openai"] },
} as const;

export type ModuleGroup = keyof typeof MODULE_GROUPS;

export interface Layer {
  name: string;
  /** What it owns: folders (ending in "/") and files, relative to src/. */
  owns: string[];
  /** The other layers it may import; a layer may always import itself. */
  mayImport: string[];
  /** Module groups it must not import. */
  mayNotUse: ModuleGroup[];
}

export const LAYERS: Layer[] = [
  {
    name: "core",
    owns: ["core/"],
    mayImport: [],
    mayNotUse: ["io", "mcp", "provider-sdks"],
  },
  { name: "log", owns: ["log.ts"], mayImport: [], mayNotUse: ["mcp", "provider-sdks"] },
  { name: "config", owns: ["config/"], mayImport: ["core", "log"], mayNotUse: ["mcp", "provider-sdks"] },
  {
    name: "store",
    owns: ["store/"],
    mayImport: ["core", "config", "log"],
    mayNotUse: ["mcp", "provider-sdks"],
  },
  {
    name: "validation",
    owns: ["validation/"],
    mayImport: ["core", "config", "log"],
    mayNotUse: ["mcp", "provider-sdks"],
  },
  { name: "providers", owns: ["providers/"], mayImport: ["core", "config", "log"], mayNotUse: ["mcp"] },
  {
    name: "executor",
    owns: ["executor/"],
    mayImport: ["core", "config", "log", "store", "validation", "providers"],
    mayNotUse: ["mcp"],
  },
  {
    name: "tools",
    owns: ["tools/"],
    mayImport: ["core", "config", "log", "store", "validation", "providers", "executor"],
    mayNotUse: [],
  },
  {
    name: "server",
    owns: [
      "server.ts",
      "tool-progress.ts",
      "startup-recovery.ts",
      "resources.ts",
      "prompts.ts",
      "cli.ts",
      "transports/",
      "demo/",
      "init/",
    ],
    mayImport: ["core", "config", "log", "store", "validation", "providers", "executor", "tools"],
    mayNotUse: [],
  },
];
