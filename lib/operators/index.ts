/**
 * `snakepit-rx/operators`: RxJS operators for streams of chunks.
 *
 * Safe for browsers and other non-Node runtimes: this entry point and the
 * files it imports depend on `rxjs` alone, never on Node built-ins or gRPC, so
 * a front end can pipe chunks relayed from a server (over a websocket, SSE,
 * ...) through the same operators.
 */
export type { Chunk } from '../chunk.js';
export { isSyntheticFinal } from '../chunk.js';
export { isNdArray, type NdArray, type NdArrayData } from '../ndarray.js';
export type { Progress, ProgressReading } from './progress.js';
export { readProgress } from './progress.js';
export { reduceProgress, type ReduceProgressOptions } from './reduce-progress.js';
export { throttleProgress } from './throttle-progress.js';
export { batchChunks, type BatchChunksOptions } from './batch-chunks.js';
export { estimatePayloadBytes } from './payload-bytes.js';
export { chunkData } from './chunk-data.js';
export { takeUntilFinal } from './take-until-final.js';
export { toChunkArray } from './to-chunk-array.js';
