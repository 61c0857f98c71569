import type { ClientUnaryCall } from '@grpc/grpc-js';
import type { ExecuteToolRequest, ExecuteToolResponse } from '../contract/bridge-connection.js';
import { decodePayload } from '../contract/payload-decoding.js';
import { SnakepitError } from '../errors.js';
import { lossError, reportFailure } from './call-failure.js';
import type { Worker } from '../worker/worker.js';

/** One unary call on one worker. */
export class UnaryCall<R> {
  private call: ClientUnaryCall | undefined;
  private done = false;
  private stopListeningForExit: () => void = () => {};

  constructor(
    private readonly worker: Worker,
    private readonly request: ExecuteToolRequest,
    private readonly settle: { resolve(result: R, bytes: number): void; reject(error: SnakepitError): void },
    /** gRPC metadata for the worker: the call's trace context. */
    private readonly traceHeaders: Readonly<Record<string, string>>,
  ) {}

  start(): void {
    const tool = this.request.tool_name;
    this.stopListeningForExit = this.worker.onExit((exit) => {
      if (!exit.expected) this.fail(lossError(this.worker, tool));
    });
    this.call = this.worker.connection.executeTool(this.request, this.traceHeaders, (error, response) => {
      if (error !== null) {
        reportFailure(this.worker, tool, error, (failure) => this.fail(failure));
        return;
      }
      this.succeed(response);
    });
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
    this.settle.resolve(result, response.result.byteLength);
  }

  private fail(error: SnakepitError): void {
    if (this.done) return;
    this.done = true;
    this.stopListeningForExit();
    this.settle.reject(error);
  }
}
