import type { Deadline } from '@grpc/grpc-js';
import type { ExecuteToolRequest } from '../contract/bridge-connection.js';
import { SnakepitError } from '../errors.js';
import { EncodedArguments } from '../call/tool-arguments.js';
import type { CallOptions, ToolArguments, ToolInfo } from '../public-types.js';

/** A request checked against the adapter's tools, ready to go to the pool. */
export interface PooledRequest {
  readonly tool: string;
  readonly args: ToolArguments | EncodedArguments | undefined;
  readonly options: CallOptions;
  /** The client's call id, from which chunk ids are made; empty when it sent none. */
  readonly callId: string;
}

const ARGUMENTS_HINT = 'send the keyword arguments as a UTF-8 JSON object, e.g. {"n": 3}, or no bytes for none';
const utf8 = new TextDecoder('utf-8', { fatal: true });

function invalid(message: string): SnakepitError {
  return new SnakepitError('invalid_arguments', message, { hint: ARGUMENTS_HINT });
}

/**
 * Checks that a request's arguments are a JSON object (empty means none), as
 * the Python worker reads them, and passes them on as the client encoded them.
 */
export function checkArguments(bytes: Uint8Array): EncodedArguments | undefined {
  if (bytes.byteLength === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw invalid('arguments are not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(`arguments are not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw invalid(`arguments must be a JSON object of keyword arguments, got ${kind}`);
  }
  return new EncodedArguments(bytes);
}

/**
 * Refuses, before any worker is taken, a call the adapter would refuse
 * anyway: an unknown tool, or one called the wrong way.
 */
function checkTool(tools: readonly ToolInfo[], name: string, streaming: boolean): void {
  const tool = tools.find((candidate) => candidate.name === name);
  if (tool === undefined) {
    const available =
      tools
        .map((candidate) => candidate.name)
        .sort()
        .join(', ') || 'none';
    throw new SnakepitError('tool_not_found', `no tool named '${name}'`, { hint: `available tools: ${available}`, tool: name });
  }
  if (streaming && !tool.supportsStreaming) {
    throw new SnakepitError('not_streaming', `tool '${name}' does not support streaming`, {
      hint: 'call it with ExecuteTool, or mark it @tool(supports_streaming=True) and make it a generator',
      tool: name,
    });
  }
  if (!streaming && tool.supportsStreaming) {
    throw new SnakepitError('not_unary', `tool '${name}' is a streaming tool`, {
      hint: 'call it with ExecuteStreamingTool or ExecuteStreamingToolBatched',
      tool: name,
    });
  }
}

/**
 * The pool call's timeout: what is left of the client's deadline, so that
 * the pooled call (and its generator) ends when the client stops waiting;
 * without a deadline, `fallback` (undefined: the pool's default).
 */
export function timeoutFor(deadline: Deadline, fallback: number | undefined): number | undefined {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return fallback;
  const remaining = at - Date.now();
  if (remaining <= 0) throw new SnakepitError('timeout', 'the deadline passed before the call started');
  return remaining;
}

/** Checks a request and turns it into a pool call; throws the SnakepitError to answer with. */
export function toPooledRequest(
  request: ExecuteToolRequest,
  context: { tools: readonly ToolInfo[]; streaming: boolean; deadline: Deadline; fallbackTimeout: number | undefined },
): PooledRequest {
  checkTool(context.tools, request.tool_name, context.streaming);
  const args = checkArguments(request.arguments);
  const timeout = timeoutFor(context.deadline, context.fallbackTimeout);
  return {
    tool: request.tool_name,
    callId: request.call_id,
    args,
    options: {
      ...(timeout === undefined ? {} : { timeout }),
      ...(request.session_id === '' ? {} : { sessionId: request.session_id }),
    },
  };
}
