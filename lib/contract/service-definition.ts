import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { decodeMessage, methodPath, serialize, type BridgeMethod } from './bridge-connection.js';
import type { WireMessageName } from './wire-bounds.js';

type Message = { serialize(): Uint8Array };

/**
 * A method whose handler receives the request's raw bytes: grpc-js runs a
 * method's deserializer before its handler, so decoding there would let an
 * unauthenticated caller make the server decode whatever it sends. The
 * handler checks the token first, then decodes with `decodeMessage`.
 */
function method<Response extends Message>(
  name: BridgeMethod,
  responseStream: boolean,
  response: WireMessageName,
  requestStream = false,
): MethodDefinition<Buffer, Response> {
  return {
    path: methodPath(name),
    requestStream,
    responseStream,
    requestSerialize: (bytes: Buffer) => bytes,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: serialize,
    responseDeserialize: (bytes: Buffer) => decodeMessage(response, bytes) as unknown as Response,
  };
}

/**
 * BridgeService as proto/bridge.proto declares it, for serving: requests
 * reach handlers undecoded (see `method`), responses are serialized without
 * the copy the generated serializers make.
 */
export const BRIDGE_SERVICE: ServiceDefinition = {
  Ping: method('Ping', false, 'PingResponse'),
  ListTools: method('ListTools', false, 'ListToolsResponse'),
  ExecuteTool: method('ExecuteTool', false, 'ExecuteToolResponse'),
  ExecuteStreamingTool: method('ExecuteStreamingTool', true, 'ToolChunk'),
  ExecuteStreamingToolBatched: method('ExecuteStreamingToolBatched', true, 'ChunkBatch'),
  ExecuteToolWithHostTools: method('ExecuteToolWithHostTools', true, 'ToolMessage', true),
  ExecuteStreamingToolWithHostTools: method('ExecuteStreamingToolWithHostTools', true, 'ToolMessage', true),
  AwaitCall: method('AwaitCall', false, 'AwaitCallResponse'),
};
