import { z } from "zod";
import type { LoadedConfig } from "../config/load.js";
import type { ResolvedModel } from "../config/models.js";
import type { Config } from "../config/schema.js";
import type { ChatModel } from "../providers/types.js";
import { fitText, fitToBudget } from "./budget.js";

export type ModelFactory = (model: ResolvedModel, env: NodeJS.ProcessEnv) => Promise<ChatModel>;

import type { TaskStore } from "../store/tasks.js";
import type { Workspace } from "../store/workspace.js";

/** What every tool handler gets besides its parsed arguments. */
export interface ToolContext {
  /** The workspace for this call (resolved per call: flag, env, client roots, cwd). */
  workspace(): Promise<Workspace>;
  /** The config for this call's workspace. */
  config(): Promise<Config>;
  /** The config with where it came from (the workspace's own file is not trusted with keys). */
  configFile(): Promise<LoadedConfig>;
  /** The task store for this call's workspace. */
  tasks(): Promise<TaskStore>;
  /** Aborted when the client cancels the request or the server shuts down. */
  signal: AbortSignal;
  /** Sends an MCP progress notification when the client asked for them; a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** The server's shared state (running work, environment). */
  server: ServerState;
}

export interface ServerState {
  env: NodeJS.ProcessEnv;
  /** Makes executor models; absent means the real providers (the demo injects a scripted one). */
  createModel?: ModelFactory;
  /** Registers long-running work so shutdown can cancel it and wait for it to record itself. */
  track<T>(work: Promise<T>, abort: AbortController): Promise<T>;
  /** Settles when every tracked piece of work has finished. */
  drain(): Promise<void>;
  /** Whether any tracked work is still running (a dispatch, wait:false included). */
  busy(): boolean;
}

export interface ToolResult<O> {
  structured: O;
  /** The text answer's first line: the id or the answer. The structured result follows it as JSON. */
  headline: string;
  /** A text answer of its own (a rendered table) instead of headline + JSON. */
  text?: string;
}

export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  description: string;
  input: I;
  output: O;
  annotations?: {
    readOnlyHint?: boolean;
    destructiveHint?: boolean;
    idempotentHint?: boolean;
    openWorldHint?: boolean;
  };
  handle(args: z.output<I>, ctx: ToolContext): Promise<ToolResult<z.input<O>>>;
}

/** A tool is its schemas plus one handler; this keeps each tool file to exactly that. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  def: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  return def;
}

/** JSON Schema of a zod schema as sent to clients: no $schema noise. */
export function jsonSchemaOf(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/**
 * What a tool's answer becomes on the wire, the one place results are sized: the structured
 * result held to the result budget, and the text for clients that read only text (the headline,
 * then the structured result) held to it too.
 */
export function toolResponse<O>(result: ToolResult<O>): { structured: O; text: string } {
  const structured = fitToBudget(result.structured);
  const text = result.text ?? `${result.headline}\n${JSON.stringify(structured)}`;
  return { structured, text: fitText(text) };
}
