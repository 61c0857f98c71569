/**
 * `snakepit-rx/browser`: the pool's calls from a web page, over HTTP, served
 * by `createHttpHandler` on the Node side, and the RxJS operators.
 *
 * Safe for browsers: this entry point and the files it imports depend on
 * `rxjs` and `eventsource-parser` alone, never on Node built-ins or gRPC.
 */
export { createHttpClient, type HttpClient } from './create-http-client.js';
export type { HttpClientOptions, HttpCallOptions, HttpToolArguments, RetryOptions, HeadersOption } from './http-client-options.js';
export type { HttpChunkCallback } from './http-stream-call.js';
export type { ArrowReader } from './wire-format.js';
export { SnakepitHttpError } from './http-status.js';
export { SnakepitError, isSnakepitError, type SnakepitErrorCode, type SnakepitErrorDetails } from '../errors.js';
export type { ToolInfo, ToolParameter } from '../public-types.js';
export type {
  StreamingToolDefinition,
  StreamingToolName,
  ToolCallParameters,
  ToolData,
  ToolDefinition,
  ToolResult,
  ToolsShape,
  UnaryToolDefinition,
  UnaryToolName,
  UntypedTools,
} from '../typed-tools.js';
export * from '../operators/index.js';
