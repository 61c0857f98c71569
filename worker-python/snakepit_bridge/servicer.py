"""BridgeService: lists the adapter's tools and runs them for gRPC clients."""

from __future__ import annotations

import concurrent.futures
import inspect
import json
import logging
import os
import threading
import uuid
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass

import grpc

from snakepit_bridge.alignment import aligned_response
from snakepit_bridge.base_adapter import BaseAdapter, ToolInfo
from snakepit_bridge.call_context import CallContext
from snakepit_bridge.chunk_pump import ChunkPump
from snakepit_bridge.encoding import encode_binary, encode_json
from snakepit_bridge.errors import CallFailure, abort, from_exception
from snakepit_bridge.event_loop import LoopCall
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.proto import bridge_pb2_grpc
from snakepit_bridge.tracing import start_tool_span
from snakepit_bridge.wire import ChunkBatchBuilder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    # Both sides refuse gRPC messages above this size.
    max_message_bytes: int = 64 * 1024 * 1024
    # How much one message of a batched stream takes from the pump.
    max_batch_bytes: int = 256 * 1024
    # How far a tool may run ahead of the client.
    max_buffered_bytes: int = 4 * 1024 * 1024


# Room for a message's own fields around its chunks (json_run's brackets, padding, tags, lengths).
_MESSAGE_OVERHEAD_BYTES = 1024


class BridgeServicer(bridge_pb2_grpc.BridgeServiceServicer):
    def __init__(self, adapter: BaseAdapter, adapter_name: str, worker_id: str, limits: Limits) -> None:
        self._tools = adapter.tools()
        self._adapter_name = adapter_name
        self._worker_id = worker_id
        self._limits = limits
        # A batch must fit in one message even when the message limit is set below max_batch_bytes.
        self._batch_bytes = min(limits.max_batch_bytes, limits.max_message_bytes - _MESSAGE_OVERHEAD_BYTES)
        # Calls whose tool is still running, by call id; each event is set when its tool ends.
        self._running: dict[str, threading.Event] = {}
        self._running_changed = threading.Condition()

    def Ping(self, request: pb.PingRequest, context: grpc.ServicerContext) -> pb.PingResponse:
        return pb.PingResponse(message=request.message or "pong", worker_id=self._worker_id, pid=os.getpid())

    def ListTools(self, request: pb.ListToolsRequest, context: grpc.ServicerContext) -> pb.ListToolsResponse:
        return pb.ListToolsResponse(
            adapter=self._adapter_name,
            tools=[
                pb.ToolSpec(
                    name=info.name,
                    description=info.description,
                    supports_streaming=info.supports_streaming,
                    parameters=[
                        pb.ParameterSpec(name=p.name, type=p.type, required=p.required, default_json=p.default_json)
                        for p in info.parameters
                    ],
                )
                for info in self._tools.values()
            ],
        )

    def ExecuteTool(self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext) -> pb.ExecuteToolResponse:
        call: CallContext | None = None
        try:
            tool, arguments, call = self._prepare(request, streaming=False)
            self._trace(call, context)
            if not context.add_callback(call.cancel):
                call.cancel()
            ended = self._begin(call.call_id)
            try:
                with call.active():
                    result = tool.function(**arguments)
                    if inspect.isawaitable(result):
                        result = self._await(result, call, context)
            finally:
                self._end(call.call_id, ended)
            response = _unary_response(tool.name, result, self._limits.max_message_bytes)
            call.span.end(None, cancelled=False, chunks=None)
            return response
        except CallFailure as failure:
            error = failure
        except BaseException as exception:
            # Including SystemExit and KeyboardInterrupt raised by a tool: grpc would drop the
            # call without a status, and the client would wait for its deadline.
            error = from_exception(exception)
        if call is not None:
            call.span.end(error, cancelled=call.cancelled(), chunks=None)
        abort(context, error, self._worker_id)

    def ExecuteStreamingTool(
        self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ToolChunk]:
        for batch, call_id in self._stream(request, context):
            yield from batch.tool_chunks(call_id)

    def ExecuteStreamingToolBatched(
        self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        """Yields serialized ChunkBatch messages: the server registers this method without a serializer."""
        for batch, _ in self._stream(request, context):
            yield batch.build()

    def AwaitCall(self, request: pb.AwaitCallRequest, context: grpc.ServicerContext) -> pb.AwaitCallResponse:
        with self._running_changed:
            ended = self._running.get(request.call_id)
        return pb.AwaitCallResponse(ended=ended is None or ended.wait(request.timeout_ms / 1000))

    def wait_idle(self, timeout: float) -> bool:
        """Waits for running tools to be closed, so that their finally blocks run before the process exits."""
        with self._running_changed:
            return self._running_changed.wait_for(lambda: not self._running, timeout)

    def _begin(self, call_id: str) -> threading.Event:
        ended = threading.Event()
        with self._running_changed:
            self._running[call_id] = ended
        return ended

    def _end(self, call_id: str, ended: threading.Event) -> None:
        ended.set()
        with self._running_changed:
            if self._running.get(call_id) is ended:
                del self._running[call_id]
            self._running_changed.notify_all()

    def _stream(
        self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext
    ) -> Iterator[tuple[ChunkBatchBuilder, str]]:
        try:
            tool, arguments, call = self._prepare(request, streaming=True)
        except CallFailure as failure:
            abort(context, failure, self._worker_id)
            return
        self._trace(call, context)
        pump = ChunkPump(
            lambda: tool.function(**arguments),
            call,
            max_buffered_bytes=self._limits.max_buffered_bytes,
            max_chunk_bytes=self._limits.max_message_bytes - _MESSAGE_OVERHEAD_BYTES,
        )
        ended = self._begin(call.call_id)
        pump.on_finished(lambda: self._end(call.call_id, ended))
        if not context.add_callback(pump.cancel):
            pump.cancel()
        pump.start()
        next_index = 0
        while True:
            batch = ChunkBatchBuilder(self._batch_bytes, first_index=next_index)
            if not pump.take(batch.add):
                break
            next_index += len(batch)
            yield batch, call.call_id
        if pump.failure is not None:
            abort(context, pump.failure, self._worker_id)

    def _trace(self, call: CallContext, context: grpc.ServicerContext) -> None:
        """Starts the span the tool runs in, from the trace context in the call's metadata."""
        call.span = start_tool_span(call, context.invocation_metadata(), self._worker_id)

    def _await(self, awaitable: Awaitable[object], call: CallContext, context: grpc.ServicerContext) -> object:
        async def run() -> object:
            call.activate()
            return await awaitable

        # A LoopCall: after a cancel, result() returns once the tool's finally blocks ran, so that
        # AwaitCall does not report the call ended while its tool still cleans up.
        running = LoopCall(run())
        if not context.add_callback(running.cancel):
            running.cancel()
        try:
            return running.result()
        except concurrent.futures.CancelledError as cancelled:
            raise CallFailure(code="cancelled", message="the call was cancelled") from cancelled

    def _prepare(
        self, request: pb.ExecuteToolRequest, *, streaming: bool
    ) -> tuple[ToolInfo, dict[str, object], CallContext]:
        tool = self._tools.get(request.tool_name)
        if tool is None:
            raise CallFailure(
                code="tool_not_found",
                message=f"no tool named {request.tool_name!r} in {self._adapter_name}",
                hint=f"available tools: {', '.join(sorted(self._tools)) or 'none'}",
            )
        if streaming and not tool.supports_streaming:
            raise CallFailure(
                code="not_streaming",
                message=f"tool {tool.name!r} does not support streaming",
                hint="call it with execute(), or mark it @tool(supports_streaming=True) and make it a generator",
            )
        if not streaming and tool.supports_streaming:
            raise CallFailure(
                code="not_unary",
                message=f"tool {tool.name!r} is a streaming tool",
                hint="call it with stream() or executeStream()",
            )
        return (
            tool,
            self._arguments(tool, request.arguments),
            CallContext(
                call_id=request.call_id or uuid.uuid4().hex, tool_name=tool.name, session_id=request.session_id
            ),
        )

    @staticmethod
    def _arguments(tool: ToolInfo, raw: bytes) -> dict[str, object]:
        try:
            arguments = json.loads(raw) if raw else {}
        except ValueError as error:
            raise CallFailure(code="invalid_arguments", message=f"arguments are not valid JSON: {error}") from error
        if not isinstance(arguments, dict):
            raise CallFailure(
                code="invalid_arguments",
                message=f"arguments must be a JSON object of keyword arguments, got {type(arguments).__name__}",
            )
        try:
            tool.bind(arguments)
        except TypeError as error:
            raise CallFailure(
                code="invalid_arguments",
                message=f"{tool.name}(): {error}",
                python_type="TypeError",
                hint=f"parameters: {', '.join(p.name for p in tool.parameters) or 'none'}",
            ) from error
        return arguments


def _unary_response(tool_name: str, result: object, max_message_bytes: int) -> pb.ExecuteToolResponse:
    if inspect.isgenerator(result) or inspect.isasyncgen(result):
        raise CallFailure(
            code="serialization_error",
            message=f"tool {tool_name!r} returned a generator",
            hint="mark it @tool(supports_streaming=True) and call it with stream()",
        )
    binary = encode_binary(result)
    if binary is not None:
        response = aligned_response(
            pb.ExecuteToolResponse(
                result=binary.data,
                encoding=binary.encoding,
                array=pb.ArrayInfo(dtype=binary.dtype, shape=binary.shape) if binary.dtype else None,
            )
        )
    else:
        response = pb.ExecuteToolResponse(result=encode_json(result), encoding=pb.ENCODING_JSON)
    # gRPC would refuse to send it with a bare RESOURCE_EXHAUSTED and no ErrorDetail; say why instead.
    size = response.ByteSize()
    if size > max_message_bytes:
        raise CallFailure(
            code="chunk_too_large",
            message=f"the result of {tool_name!r} is {size} bytes, over the {max_message_bytes}-byte message limit",
            hint="return a smaller result (or stream it in chunks), or raise the pool's maxMessageBytes",
        )
    return response
