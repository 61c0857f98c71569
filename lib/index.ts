export { createPool, SnakepitPool } from './snakepit-pool.js';
export type {
  BridgeClientCall,
  BridgeServer,
  BridgeServerOptions,
  BridgeServerShutdownOptions,
  BridgeServerTlsOptions,
  CallLimits,
  CallOptions,
  ChunkCallback,
  CloseOptions,
  HostTool,
  HostToolContext,
  JsonSchema,
  PoolEvent,
  PoolEventType,
  PoolOptions,
  PoolStats,
  PythonLogLevel,
  TlsOptions,
  ToolArguments,
  ToolInfo,
  ToolParameter,
  WorkerLog,
} from './public-types.js';
export type {
  IsUntyped,
  StreamingToolDefinition,
  StreamingToolName,
  ToolArgumentsOf,
  ToolArgumentsParameter,
  ToolCallParameters,
  ToolData,
  ToolDefinition,
  ToolDefinitionOf,
  ToolResult,
  ToolsShape,
  UnaryToolDefinition,
  UnaryToolName,
  UntypedTools,
} from './typed-tools.js';
export { resolveEndpoints } from './worker/resolve-endpoints.js';
export { SnakepitError, isSnakepitError } from './errors.js';
export type { SnakepitErrorCode, SnakepitErrorDetails } from './errors.js';
export { createBridgeServer } from './bridge-server/create-bridge-server.js';
export { createHttpHandler, type HttpHandler } from './http/create-http-handler.js';
export type { HttpHandlerOptions, AuthorizeResult } from './http/http-handler-options.js';
export { isSyntheticFinal } from './chunk.js';
export type { Chunk } from './chunk.js';
// The operators are also served alone, without Node or gRPC, as `snakepit-rx/operators`.
export * from './operators/index.js';
