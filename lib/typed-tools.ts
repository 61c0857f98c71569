/**
 * The shape of an adapter's tools, as `npx snakepit-rx types` generates it,
 * and the types that a client derives from it for each call: which names it
 * takes, what arguments, what comes back. A pool (`createPool<Tools>`) and
 * any other client of the same tools use them alike.
 *
 * Types only, importing nothing: browser code can use them.
 */

/** Keyword arguments of a tool: a JSON object. */
export type ToolArguments = Readonly<Record<string, unknown>>;

/** A streaming tool (a generator): its keyword arguments and the data of each chunk it yields. */
export interface StreamingToolDefinition<Arguments extends object = object, Data = unknown> {
  /** Its keyword arguments. */
  readonly arguments: Arguments;
  /** Called with `stream`, `executeStream` or `iterate`. */
  readonly streaming: true;
  /** What each chunk's `data` holds. */
  readonly data: Data;
}

/** A unary tool: its keyword arguments and what it returns. */
export interface UnaryToolDefinition<Arguments extends object = object, Result = unknown> {
  /** Its keyword arguments. */
  readonly arguments: Arguments;
  /** Called with `execute`. */
  readonly streaming: false;
  /** What `execute` resolves with. */
  readonly result: Result;
}

/** One tool of an adapter, streaming or unary. */
export type ToolDefinition = StreamingToolDefinition | UnaryToolDefinition;

/**
 * What a description of an adapter's tools must be: an object type keyed by
 * tool name, each member a {@link ToolDefinition}. `npx snakepit-rx types`
 * generates one, `MyAdapterTools` for `my_tools.MyAdapter`:
 *
 * ```ts
 * export interface MyAdapterTools {
 *   stream_progress: { arguments: StreamProgressArguments; streaming: true; data: Progress };
 *   add: { arguments: AddArguments; streaming: false; result: number };
 * }
 * const pool = await createPool<MyAdapterTools>({ adapter: 'my_tools.MyAdapter' });
 * ```
 */
export type ToolsShape<Tools> = { readonly [Name in keyof Tools]: ToolDefinition };

/**
 * Tools nobody described: any name, any JSON object of arguments, and
 * whatever the caller declares as the data (`pool.stream<T>(...)`). What a
 * pool is without a type parameter.
 */
export interface UntypedTools {
  readonly [tool: string]: ToolDefinition;
}

/** True when `Tools` names no tools in particular (an index signature, as {@link UntypedTools}). */
export type IsUntyped<Tools> = string extends keyof Tools ? true : false;

/** The names of the streaming tools (any string for untyped tools). */
export type StreamingToolName<Tools> =
  IsUntyped<Tools> extends true
    ? string
    : { [Name in keyof Tools]: Tools[Name] extends StreamingToolDefinition ? Name : never }[keyof Tools] & string;

/** The names of the unary tools (any string for untyped tools). */
export type UnaryToolName<Tools> =
  IsUntyped<Tools> extends true
    ? string
    : { [Name in keyof Tools]: Tools[Name] extends UnaryToolDefinition ? Name : never }[keyof Tools] & string;

/** The definition of tool `Name`, `never` when `Tools` has no such tool. */
export type ToolDefinitionOf<Tools, Name> = Name extends keyof Tools ? (Tools[Name] extends ToolDefinition ? Tools[Name] : never) : never;

/** The keyword arguments of tool `Name` ({@link ToolArguments} for untyped tools). */
export type ToolArgumentsOf<Tools, Name> = IsUntyped<Tools> extends true ? ToolArguments : ToolDefinitionOf<Tools, Name>['arguments'];

/** The `args` parameter of a call: may be left `undefined` when the tool requires no argument. */
export type ToolArgumentsParameter<Tools, Name> =
  IsUntyped<Tools> extends true
    ? ToolArguments | undefined
    : Record<never, never> extends ToolArgumentsOf<Tools, Name>
      ? ToolArgumentsOf<Tools, Name> | undefined
      : ToolArgumentsOf<Tools, Name>;

/**
 * The parameters of a call after the tool's name: its arguments (optional
 * when the tool requires none) and the call's options.
 */
export type ToolCallParameters<Tools, Name, Options> =
  IsUntyped<Tools> extends true
    ? [args?: ToolArguments, options?: Options]
    : Record<never, never> extends ToolArgumentsOf<Tools, Name>
      ? [args?: ToolArgumentsOf<Tools, Name>, options?: Options]
      : [args: ToolArgumentsOf<Tools, Name>, options?: Options];

/** What each chunk of streaming tool `Name` carries; `Declared`, what the caller declares, for untyped tools. */
export type ToolData<Tools, Name, Declared = unknown> =
  IsUntyped<Tools> extends true
    ? Declared
    : ToolDefinitionOf<Tools, Name> extends StreamingToolDefinition<object, infer Data>
      ? Data
      : never;

/** What unary tool `Name` returns; `Declared`, what the caller declares, for untyped tools. */
export type ToolResult<Tools, Name, Declared = unknown> =
  IsUntyped<Tools> extends true
    ? Declared
    : ToolDefinitionOf<Tools, Name> extends UnaryToolDefinition<object, infer Result>
      ? Result
      : never;
