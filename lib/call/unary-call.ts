import type { ClientUnaryCall } from '@grpc/grpc-js';
import type { ExecuteToolRequest, ExecuteToolResponse } from '../contract/bridge-connection.js';
import { decodePayload } from '../contract/payload-decoding.js';
import { SnakepitError } from '../errors.js';
import { lossError, neverRan, reportFailure } from './call-failure.js';
import type { Worker } from '../worker/worker.js';

/** One unary call on one worker. */
export class UnaryCall<R> {
  private call: ClientUnaryCall | undefined;
  /** The worker sends its initial metadata when the call arrives, before the tool runs. */
  private acknowledged = false;
  private done = false;
  private stopListeningForExit: () => void = () => {};

  constructor(
    private readonly worker: Worker,
    private readonly request: ExecuteToolRequest,
    /** `neverRan`: the worker died before the tool could run (see `neverRan` in call-failure.ts). */
    private readonly settle: { resolve(result: R): void; reject(error: SnakepitError, neverRan: boolean): void },
  ) {}

  start(): void {
    const tool = this.request.tool_name;
    this.stopListeningForExit = this.worker.onExit((exit) => {
      if (!exit.expected) this.fail(lossError(this.worker, tool), neverRan(this.worker, this.acknowledged));
    });
    // The worker may have died between the lease and the start.
    if (this.done) return;
    this.call = this.worker.connection.executeTool(this.request, (error, response) => {
      if (error !== null) {
        reportFailure(this.worker, tool, error, (failure) => this.fail(failure));
        return;
      }
      this.succeed(response);
    });
    this.call.once('metadata', () => (this.acknowledged = true));
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.stopListeningForExit();
    this.call?.cancel();
  }

  private succeed(response: ExecuteToolResponse | undefined): void {
    if (this.done) return;
    let result: R;
    try {
      if (response === undefined) throw new Error('empty response');
      result = decodePayload(response.encoding, response.result, response.has_array ? response.array : undefined) as R;
    } catch (error) {
      this.fail(new SnakepitError('transport_error', `cannot decode the result: ${String(error)}`, { cause: error }));
      return;
    }
    this.done = true;
    this.stopListeningForExit();
    this.settle.resolve(result);
  }

  private fail(error: SnakepitError, toolNeverRan = false): void {
    if (this.done) return;
    this.done = true;
    this.stopListeningForExit();
    this.settle.reject(error, toolNeverRan);
  }
}
