import type { ServiceError } from '@grpc/grpc-js';
import type { ExecuteToolRequest, ExecuteToolResponse } from '../contract/bridge-connection.js';
import { attachedBytes, decodePayload, withAttachments } from '../contract/payload-decoding.js';
import { SnakepitError } from '../errors.js';
import { lossError, neverRan, reportFailure, type NotRun } from './call-failure.js';
import type { HostToolRelay } from './host-tool-relay.js';
import type { Worker } from '../worker/worker.js';

/** One unary call on one worker. */
export class UnaryCall<R> {
  private call: { cancel(): void } | undefined;
  /**
   * The worker sends its initial metadata when the call arrives, before the tool runs. A call with host tools
   * counts as acknowledged from the start: it is never run twice.
   */
  private acknowledged: boolean;
  private done = false;
  private stopListeningForExit: () => void = () => {};

  constructor(
    private readonly worker: Worker,
    private readonly request: ExecuteToolRequest,
    /** `notRun`: why the tool certainly never ran, when it did not (see `NotRun` in call-failure.ts). */
    private readonly settle: { resolve(result: R, bytes: number): void; reject(error: SnakepitError, notRun: NotRun | undefined): void },
    /** gRPC metadata for the worker: the call's trace context (and its session's routing). */
    private readonly headers: Readonly<Record<string, string>>,
    /** With `host`, the call runs on a stream both ways that also carries its tool's host-tool calls. */
    private readonly host?: HostToolRelay,
  ) {
    this.acknowledged = host !== undefined;
  }

  start(): void {
    const tool = this.request.tool_name;
    this.stopListeningForExit = this.worker.onExit((exit) => {
      if (!exit.expected) this.fail(lossError(this.worker, tool), neverRan(this.worker, this.acknowledged));
    });
    // The worker may have died between the lease and the start.
    if (this.done) return;
    const settle = (error: ServiceError | null, response?: ExecuteToolResponse) => {
      if (error !== null) {
        reportFailure(this.worker, tool, error, (failure, notRun) => this.fail(failure, notRun));
        return;
      }
      this.succeed(response);
    };
    const { connection } = this.worker;
    if (this.host === undefined) {
      const call = connection.executeTool(this.request, this.headers, settle);
      call.once('metadata', () => (this.acknowledged = true));
      this.call = call;
    } else {
      this.call = this.host.unary(connection, this.request, this.headers, settle);
    }
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.stopListeningForExit();
    this.call?.cancel();
    this.host?.close();
  }

  private succeed(response: ExecuteToolResponse | undefined): void {
    if (this.done) return;
    let result: R;
    try {
      if (response === undefined) throw new Error('empty response');
      const payload = decodePayload(response.encoding, response.result, response.has_array ? response.array : undefined);
      result = withAttachments(payload, response.attachments) as R;
    } catch (error) {
      this.fail(new SnakepitError('transport_error', `cannot decode the result: ${String(error)}`, { cause: error }));
      return;
    }
    this.done = true;
    this.stopListeningForExit();
    this.host?.close();
    this.settle.resolve(result, response.result.byteLength + attachedBytes(response.attachments));
  }

  private fail(error: SnakepitError, notRun?: NotRun): void {
    if (this.done) return;
    this.done = true;
    this.stopListeningForExit();
    this.host?.close();
    this.settle.reject(error, notRun);
  }
}
