"""The baseline: a plain grpcio server (sync, thread pool), no snakepit_bridge runtime.

It serves the bridge contract with the generated stubs and message classes
only: ExecuteTool, ExecuteStreamingTool (one gRPC message per chunk), and
ExecuteStreamingToolBatched as a hand-tuned user would batch, `per_message`
records (256 by default) as repeated ToolChunks of one ChunkBatch message.
It listens on 127.0.0.1 and, with `--unix PATH`, on that Unix socket too,
prints `PORT <n>` once it listens, and exits when its stdin closes, so that
it never outlives the benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
from snakepit_bridge.proto import bridge_pb2, bridge_pb2_grpc
from workload_data import binary_block, encode_json, small_record, write_stamp

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
RECORDS_PER_MESSAGE = 256


def _arguments(request: bridge_pb2.ExecuteToolRequest) -> dict[str, Any]:
    return json.loads(request.arguments) if request.arguments else {}


class BaselineServicer(bridge_pb2_grpc.BridgeServiceServicer):
    def Ping(self, request, context):
        return bridge_pb2.PingResponse(message=request.message, worker_id="baseline", pid=os.getpid())

    def ExecuteTool(self, request, context):
        args = _arguments(request)
        if request.tool_name == "noop":
            result: Any = {"ok": True, "echo": args.get("value")}
        elif request.tool_name == "pid":
            result = os.getpid()
        else:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no tool {request.tool_name}")
        return bridge_pb2.ExecuteToolResponse(result=encode_json(result))

    def ExecuteStreamingTool(self, request, context) -> Iterator[bridge_pb2.ToolChunk]:
        args = _arguments(request)
        tool = request.tool_name
        if tool == "small":
            for seq in range(int(args["count"])):
                yield bridge_pb2.ToolChunk(data=encode_json(small_record(seq)))
        elif tool == "binary":
            block = binary_block(int(args.get("size", 1 << 20)))
            for _ in range(int(args["count"])):
                yield bridge_pb2.ToolChunk(data=block, encoding=bridge_pb2.ENCODING_BYTES)
        elif tool == "first":
            yield bridge_pb2.ToolChunk(data=encode_json(small_record(0)))
        elif tool == "tick":
            yield from self._tick(args, context)
        else:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no tool {tool}")

    def ExecuteStreamingToolBatched(self, request, context) -> Iterator[bridge_pb2.ChunkBatch]:
        args = _arguments(request)
        if request.tool_name != "small":
            context.abort(grpc.StatusCode.NOT_FOUND, f"no batched tool {request.tool_name}")
        count, per_message = int(args["count"]), int(args.get("per_message", RECORDS_PER_MESSAGE))
        for start in range(0, count, per_message):
            records = range(start, min(start + per_message, count))
            yield bridge_pb2.ChunkBatch(
                chunks=[bridge_pb2.ToolChunk(data=encode_json(small_record(seq))) for seq in records]
            )

    @staticmethod
    def _tick(args: dict[str, Any], context) -> Iterator[bridge_pb2.ToolChunk]:
        path = str(args["path"])
        interval = float(args.get("interval_ms", 1.0)) / 1000.0
        # grpcio's own cancellation signal, recorded next to the generator's finally for comparison.
        context.add_callback(lambda: write_stamp(f"{path}.callback"))
        seq = 0
        try:
            while True:
                yield bridge_pb2.ToolChunk(data=encode_json(small_record(seq)))
                seq += 1
                time.sleep(interval)
        finally:
            write_stamp(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--unix", default=None, help="also listen on this Unix socket")
    args = parser.parse_args()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    bridge_pb2_grpc.add_BridgeServiceServicer_to_server(BaselineServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    if args.unix is not None and server.add_insecure_port(f"unix:{args.unix}") == 0:
        raise OSError(f"cannot listen on {args.unix}")
    server.start()
    print(f"PORT {port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop(0)


if __name__ == "__main__":
    main()
