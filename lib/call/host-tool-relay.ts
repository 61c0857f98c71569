import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import {
  pb,
  type BridgeClient,
  type ChunkBatch,
  type ExecuteToolRequest,
  type ExecuteToolResponse,
  type HostMessage,
  type HostToolCall,
  type ToolMessage,
} from '../contract/bridge-connection.js';
import { cutEnd } from '../contract/truncation.js';
import { SnakepitError } from '../errors.js';
import type { HostTool } from '../public-types.js';
import { encodeJson } from './tool-arguments.js';

type HostStream = ClientDuplexStream<HostMessage, ToolMessage>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

// An answer larger than the pool's maxMessageBytes would fail the whole call's stream: an error's
// message is cut as statuses cut Python's (2 KiB), and a result's JSON leaves room for its envelope.
const MESSAGE_BYTES = 2048;
const NAME_BYTES = 256;
const ENVELOPE_BYTES = 64;

function failure(error: unknown): InstanceType<typeof pb.HostToolFailure> {
  const [message, type] = error instanceof Error ? [error.message, error.name] : [String(error), typeof error];
  return new pb.HostToolFailure({ message: cutEnd(message, MESSAGE_BYTES), type: cutEnd(type, NAME_BYTES) });
}

function parseArguments(call: HostToolCall): Record<string, unknown> {
  const args = call.arguments.byteLength === 0 ? {} : (JSON.parse(utf8.decode(call.arguments)) as unknown);
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new TypeError(`the arguments of host tool '${call.name}' are not a JSON object`);
  }
  return args as Record<string, unknown>;
}

/**
 * One call's host tools: runs the Node functions its Python tool asks for
 * (HostToolCalls arriving among the call's output, on a stream both ways)
 * and answers on the same stream. Each function gets an AbortSignal, which
 * is aborted when the call ends first (cancelled, timed out, failed, or its
 * tool stopped waiting).
 */
export class HostToolRelay {
  private channel: HostStream | undefined;
  private readonly running = new Map<number, AbortController>();
  private closed = false;

  constructor(
    private readonly tools: ReadonlyMap<string, HostTool>,
    private readonly call: { readonly callId: string; readonly sessionId: string | undefined },
    /** How deep a result may nest: the pool's `maxArgumentDepth`, as for what goes the other way. */
    private readonly maxResultDepth: number,
    /** The pool's `maxMessageBytes`: the largest answer the worker accepts. */
    private readonly maxMessageBytes: number,
  ) {}

  /** The request with the names of the host tools its tool may call. */
  withToolNames(request: ExecuteToolRequest): ExecuteToolRequest {
    request.host_tools = [...this.tools.keys()];
    return request;
  }

  /** Starts a streaming call; its chunk batches go to `onBatch`. Returns the stream, to pause, resume and cancel. */
  stream(
    connection: BridgeClient,
    request: ExecuteToolRequest,
    headers: Readonly<Record<string, string>>,
    onBatch: (batch: ChunkBatch) => void,
  ): HostStream {
    return this.open(connection, request, true, headers, (message) => {
      if (message.has_batch) onBatch(message.batch);
    });
  }

  /** Starts a unary call; settles `callback` as grpc-js settles a unary call's. Returns what cancels it. */
  unary(
    connection: BridgeClient,
    request: ExecuteToolRequest,
    headers: Readonly<Record<string, string>>,
    callback: (error: ServiceError | null, response?: ExecuteToolResponse) => void,
  ): { cancel(): void } {
    let response: ExecuteToolResponse | undefined;
    let error: ServiceError | null = null;
    const stream = this.open(connection, request, false, headers, (message) => {
      if (message.has_result) response = message.result;
    });
    stream.on('error', (failed: ServiceError) => (error = failed));
    // 'end' comes after 'error' and after every message: the outcome is known there.
    stream.on('end', () => callback(error, error === null ? response : undefined));
    return stream;
  }

  /** The call is over: host tools still running are aborted (their signal's reason says so), and nothing more is answered. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const reason = new SnakepitError('cancelled', `call ${this.call.callId} ended before its host tool calls did`);
    for (const controller of this.running.values()) controller.abort(reason);
    this.running.clear();
    this.channel?.end();
  }

  private open(
    connection: BridgeClient,
    request: ExecuteToolRequest,
    streaming: boolean,
    headers: Readonly<Record<string, string>>,
    onOutput: (message: ToolMessage) => void,
  ): HostStream {
    const stream = connection.callWithHostTools(this.withToolNames(request), streaming, headers);
    this.channel = stream;
    stream.on('data', (message: ToolMessage) => {
      if (message.has_host_call) this.run(message.host_call);
      else onOutput(message);
    });
    return stream;
  }

  private run(call: HostToolCall): void {
    const { id, name } = call;
    const tool = this.tools.get(name);
    if (tool === undefined) {
      const registered = [...this.tools.keys()].sort().join(', ');
      this.answer(id, {
        error: new pb.HostToolFailure({ message: `no host tool named '${name}' (registered: ${registered})`, type: 'Error' }),
      });
      return;
    }
    const controller = new AbortController();
    this.running.set(id, controller);
    let outcome: unknown;
    try {
      outcome = tool(parseArguments(call), { ...this.call, signal: controller.signal });
    } catch (error) {
      this.settle(id, { error: failure(error) });
      return;
    }
    Promise.resolve(outcome).then(
      (value: unknown) => {
        let result: Buffer;
        try {
          result = encodeJson(value ?? null, 'the result', this.maxResultDepth);
        } catch (error) {
          this.settle(id, {
            error: failure(new TypeError(`host tool '${name}' returned a value JSON cannot carry: ${(error as Error).message}`)),
          });
          return;
        }
        if (result.byteLength + ENVELOPE_BYTES > this.maxMessageBytes) {
          const message = `host tool '${name}' returned ${result.byteLength} bytes of JSON, over the pool's maxMessageBytes (${this.maxMessageBytes})`;
          this.settle(id, { error: failure(new SnakepitError('chunk_too_large', message)) });
          return;
        }
        this.settle(id, { result });
      },
      (error: unknown) => this.settle(id, { error: failure(error) }),
    );
  }

  private settle(id: number, outcome: { result: Uint8Array } | { error: InstanceType<typeof pb.HostToolFailure> }): void {
    if (!this.running.delete(id)) return;
    this.answer(id, outcome);
  }

  private answer(id: number, outcome: { result: Uint8Array } | { error: InstanceType<typeof pb.HostToolFailure> }): void {
    if (this.closed) return;
    this.channel?.write(new pb.HostMessage({ host_result: new pb.HostToolResult({ id, ...outcome }) }));
  }
}
