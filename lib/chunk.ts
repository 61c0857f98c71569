/**
 * One piece of a streaming tool's output, as emitted by `pool.stream()`.
 *
 * `T` is what the caller declares the tool yields; it is not checked at run
 * time. The last chunk of every stream has `isFinal: true`. When the tool
 * never marked a final chunk, the pool appends a synthetic one whose `data`
 * is `null` and whose `metadata.synthetic_final` is `'true'`.
 *
 * This module imports nothing, so that browser code can use the type.
 */
export interface Chunk<T = unknown> {
  /** The decoded payload: JSON value, `Uint8Array` for bytes, `NdArray` for a numpy array. */
  readonly data: T;
  /** True for the last chunk of the stream, and only for it. */
  readonly isFinal: boolean;
  /** Position in the stream, from 0. */
  readonly index: number;
  /** `"<callId>-<index>"`: unique within a pool. */
  readonly chunkId: string;
  /** String metadata; on the final chunk it includes `execution_time_ms`, `tool_type` and `worker_id`. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** True for the chunk the pool adds when a tool ended without marking a final chunk. */
export function isSyntheticFinal(chunk: Chunk<unknown>): boolean {
  return chunk.metadata['synthetic_final'] === 'true';
}
