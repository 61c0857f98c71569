import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { methodPath, pb, serialize, type BridgeMethod } from './bridge-connection.js';

type Message = { serialize(): Uint8Array };

function method<Request extends Message, Response extends Message>(
  name: BridgeMethod,
  responseStream: boolean,
  request: { deserialize(bytes: Uint8Array): Request },
  response: { deserialize(bytes: Uint8Array): Response },
  requestStream = false,
): MethodDefinition<Request, Response> {
  return {
    path: methodPath(name),
    requestStream,
    responseStream,
    requestSerialize: serialize,
    requestDeserialize: (bytes: Buffer) => request.deserialize(bytes),
    responseSerialize: serialize,
    responseDeserialize: (bytes: Buffer) => response.deserialize(bytes),
  };
}

/** BridgeService as proto/bridge.proto declares it, with serializers that do not copy (the generated ones copy every message). */
export const BRIDGE_SERVICE: ServiceDefinition = {
  Ping: method('Ping', false, pb.PingRequest, pb.PingResponse),
  ListTools: method('ListTools', false, pb.ListToolsRequest, pb.ListToolsResponse),
  ExecuteTool: method('ExecuteTool', false, pb.ExecuteToolRequest, pb.ExecuteToolResponse),
  ExecuteStreamingTool: method('ExecuteStreamingTool', true, pb.ExecuteToolRequest, pb.ToolChunk),
  ExecuteStreamingToolBatched: method('ExecuteStreamingToolBatched', true, pb.ExecuteToolRequest, pb.ChunkBatch),
  ExecuteToolWithHostTools: method('ExecuteToolWithHostTools', true, pb.HostMessage, pb.ToolMessage, true),
  ExecuteStreamingToolWithHostTools: method('ExecuteStreamingToolWithHostTools', true, pb.HostMessage, pb.ToolMessage, true),
  AwaitCall: method('AwaitCall', false, pb.AwaitCallRequest, pb.AwaitCallResponse),
};
