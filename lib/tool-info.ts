// What `pool.tools()` and the browser client's `tools()` say of a tool.
// This module imports nothing, so that browser code can use the types.
/** One parameter of a tool, from its Python signature. */
export interface ToolParameter {
  /** The keyword the tool takes it by. */
  readonly name: string;
  /** The Python annotation's name, or `any`. */
  readonly type: string;
  /** False when the signature gives it a default. */
  readonly required: boolean;
  /** The default value, when it is JSON. */
  readonly default?: unknown;
}

/** A tool of the adapter, as `pool.tools()` lists it. */
export interface ToolInfo {
  /** The method's name: what `stream`, `execute` and the others take. */
  readonly name: string;
  /** From `@tool(description=...)`, else the method's docstring. */
  readonly description: string;
  /** True for generators marked `supports_streaming=True`: call them with `stream`, `executeStream` or `iterate`. */
  readonly supportsStreaming: boolean;
  /** Its keyword parameters, in signature order. */
  readonly parameters: readonly ToolParameter[];
}
