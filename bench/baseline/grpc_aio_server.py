"""The asyncio baseline: a plain grpcio server on grpc.aio with the generated stubs, one gRPC message per chunk.

The same workload as grpc_server.py's ExecuteStreamingTool `small`, served by an
async generator, for readers who expect asyncio to change the picture. It
prints `PORT <n>` once it listens and exits when its stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator

import grpc
from snakepit_bridge.proto import bridge_pb2, bridge_pb2_grpc
from workload_data import encode_json, small_record

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class AioBaselineServicer(bridge_pb2_grpc.BridgeServiceServicer):
    async def Ping(self, request, context):
        return bridge_pb2.PingResponse(message=request.message, worker_id="baseline-aio", pid=os.getpid())

    async def ExecuteStreamingTool(self, request, context) -> AsyncIterator[bridge_pb2.ToolChunk]:
        if request.tool_name != "small":
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no tool {request.tool_name}")
        args = json.loads(request.arguments) if request.arguments else {}
        for seq in range(int(args["count"])):
            yield bridge_pb2.ToolChunk(data=encode_json(small_record(seq)))


async def serve() -> None:
    server = grpc.aio.server(
        options=[
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    bridge_pb2_grpc.add_BridgeServiceServicer_to_server(AioBaselineServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"PORT {port}", flush=True)
    # Serve until stdin closes, read in a thread so that the loop stays free for calls.
    await asyncio.to_thread(sys.stdin.read)
    await server.stop(0)


if __name__ == "__main__":
    asyncio.run(serve())
