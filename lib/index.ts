export { createPool, SnakepitPool } from './snakepit-pool.js';
export type { ToolInfo, ToolParameter, CloseOptions } from './snakepit-pool.js';
export type { PoolOptions } from './pool-options.js';
export type { PoolEvent, PoolEventType, PoolStats } from './pool-events.js';
export type { CallOptions } from './call-scope.js';
export type { ChunkCallback } from './execute-stream.js';
export type { ToolArguments } from './json-arguments.js';
export { SnakepitError, isSnakepitError } from './errors.js';
export type { SnakepitErrorCode, SnakepitErrorDetails } from './errors.js';
export { isSyntheticFinal } from './chunk.js';
export type { Chunk } from './chunk.js';
export type { NdArray, NdArrayData } from './ndarray.js';
// The operators are also served alone, without Node or gRPC, as `snakepit-rx/operators`.
export * from './operators/index.js';
