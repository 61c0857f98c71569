export { createPool, SnakepitPool } from './snakepit-pool.js';
export type { ToolInfo, ToolParameter, CloseOptions } from './snakepit-pool.js';
export type { PoolOptions, TlsOptions } from './pool/pool-options.js';
export { resolveEndpoints } from './worker/resolve-endpoints.js';
export type { PoolEvent, PoolEventType, PoolStats } from './pool/pool-events.js';
export type { CallOptions } from './call/call-scope.js';
export type { ChunkCallback } from './call/consume-with-callback.js';
export type { ToolArguments } from './call/tool-arguments.js';
export { SnakepitError, isSnakepitError } from './errors.js';
export type { SnakepitErrorCode, SnakepitErrorDetails } from './errors.js';
export {
  createBridgeServer,
  type BridgeServer,
  type BridgeServerOptions,
  type BridgeServerTlsOptions,
  type BridgeServerShutdownOptions,
} from './bridge-server/create-bridge-server.js';
export { createHttpHandler, type HttpHandler } from './http/create-http-handler.js';
export type { HttpHandlerOptions, AuthorizeResult } from './http/http-handler-options.js';
export { isSyntheticFinal } from './chunk.js';
export type { Chunk } from './chunk.js';
// The operators are also served alone, without Node or gRPC, as `snakepit-rx/operators`.
export * from './operators/index.js';
