import { isUtf8 } from 'node:buffer';
import type { Deadline } from '@grpc/grpc-js';
import type { ExecuteToolRequest, pb } from '../contract/bridge-connection.js';
import { SnakepitError } from '../errors.js';
import { checkId } from '../call/client-input.js';
import { quoteInput } from '../quoted-input.js';
import { checkEncodedArguments, EncodedArguments } from '../call/tool-arguments.js';
import type { CallLimits, ToolInfo } from '../public-types.js';

/** A request checked against the adapter's tools, ready to go to the pool. */
export interface PooledRequest {
  readonly tool: string;
  readonly args: EncodedArguments | undefined;
  readonly sessionId: string | undefined;
  /** The client's call id, from which chunk ids are made; empty when it sent none. */
  readonly callId: string;
}

const ARGUMENTS_HINT = 'send the keyword arguments as a UTF-8 JSON object, e.g. {"n": 3}, or no bytes for none';

function invalid(message: string): SnakepitError {
  return new SnakepitError('invalid_arguments', message, { hint: ARGUMENTS_HINT });
}

/** What a JSON text holds, by its first byte after white space (RFC 8259). */
function kindOfJson(bytes: Uint8Array): string {
  const first = bytes.find((byte) => byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d);
  switch (first) {
    case 0x7b:
      return 'an object';
    case 0x5b:
      return 'an array';
    case 0x22:
      return 'a string';
    case 0x74:
    case 0x66:
      return 'a boolean';
    case 0x6e:
      return 'null';
    case undefined:
      return 'nothing';
    default:
      return 'a number, or not JSON';
  }
}

/**
 * Checks a request's arguments without decoding them: within the pool's
 * limits, UTF-8, and a JSON object (empty means none). They are passed on as
 * the client encoded them, and the worker parses them, refusing invalid JSON
 * with `invalid_arguments` before its tool runs: parsing them here too would
 * hold a second and a third copy of every argument (the text, the value)
 * for nothing.
 */
export function checkArguments(
  bytes: Uint8Array,
  attachments: readonly InstanceType<typeof pb.Attachment>[],
  limits: CallLimits,
): EncodedArguments | undefined {
  if (bytes.byteLength === 0 && attachments.length === 0) return undefined;
  checkEncodedArguments(
    bytes,
    limits,
    attachments.reduce((sum, attachment) => sum + attachment.data.byteLength, 0),
  );
  if (!isUtf8(bytes)) throw invalid('arguments are not valid UTF-8');
  const kind = kindOfJson(bytes);
  if (kind !== 'an object') throw invalid(`arguments must be a JSON object of keyword arguments, got ${kind}`);
  // Binary arguments are relayed as the client sent them; the worker checks them against the JSON.
  return new EncodedArguments(bytes, attachments);
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
    throw new SnakepitError('tool_not_found', `no tool named ${quoteInput(name)}`, { hint: `available tools: ${available}`, tool: name });
  }
  if (streaming && !tool.supportsStreaming) {
    throw new SnakepitError('not_streaming', `tool ${quoteInput(name)} does not support streaming`, {
      hint: 'call it with ExecuteTool, or mark it @tool(supports_streaming=True) and make it a generator',
      tool: name,
    });
  }
  if (!streaming && tool.supportsStreaming) {
    throw new SnakepitError('not_unary', `tool ${quoteInput(name)} is a streaming tool`, {
      hint: 'call it with ExecuteStreamingTool or ExecuteStreamingToolBatched',
      tool: name,
    });
  }
}

/**
 * The pool call's timeout, from when it goes to the pool: what is left of
 * the client's deadline, so that the pooled call (and its generator) ends
 * when the client stops waiting, but never more than `ceiling`, the server's
 * `callTimeout`, which a client cannot extend by asking for a later deadline.
 */
export function timeoutFor(deadline: Deadline, ceiling: number): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return ceiling;
  const remaining = at - Date.now();
  if (remaining <= 0) throw new SnakepitError('timeout', 'the deadline passed before the call started');
  return Math.min(remaining, ceiling);
}

/** Checks a request and turns it into a pool call; throws the SnakepitError to answer with. */
export function toPooledRequest(
  request: ExecuteToolRequest,
  context: { tools: readonly ToolInfo[]; limits: CallLimits; streaming: boolean },
): PooledRequest {
  // Ids first: they are quoted in the errors below, and chunk ids are made from the call id.
  const { maxIdLength } = context.limits;
  checkId('tool name', request.tool_name, maxIdLength, true);
  checkId('sessionId', request.session_id, maxIdLength, false);
  checkId('call id', request.call_id, maxIdLength, false);
  checkTool(context.tools, request.tool_name, context.streaming);
  return {
    tool: request.tool_name,
    callId: request.call_id,
    args: checkArguments(request.arguments, request.attachments, context.limits),
    sessionId: request.session_id === '' ? undefined : request.session_id,
  };
}
