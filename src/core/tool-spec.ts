/** A tool offered to a model: name, description and a JSON Schema object for its arguments. */
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}
