"""BridgeService: lists the adapter's tools and runs them for gRPC clients."""

from __future__ import annotations

import concurrent.futures
import inspect
import json
import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

import grpc

from snakepit_bridge.acknowledgment import Acknowledgment
from snakepit_bridge.alignment import aligned_response
from snakepit_bridge.arguments import decode_arguments
from snakepit_bridge.base_adapter import BaseAdapter, ToolInfo, tools_of
from snakepit_bridge.binary_arguments import check_placeholders, decode_binary_arguments
from snakepit_bridge.call_admission import CallAdmission, waiting_room
from snakepit_bridge.call_context import CallContext
from snakepit_bridge.chunk_pump import ChunkPump
from snakepit_bridge.encoding import encode_binary, encode_value
from snakepit_bridge.errors import CallFailure, abort, from_exception
from snakepit_bridge.event_loop import LoopCall
from snakepit_bridge.host_tools import HostToolChannel
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.proto import bridge_pb2_grpc
from snakepit_bridge.session_context import SessionContext
from snakepit_bridge.tool_types import types_of, warm_up
from snakepit_bridge.tracing import start_tool_span
from snakepit_bridge.truncation import quote_input
from snakepit_bridge.wire import ChunkBatchBuilder, attachment_message

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    # Both sides refuse gRPC messages above this size.
    max_message_bytes: int = 64 * 1024 * 1024
    # How much one message of a batched stream takes from the pump.
    max_batch_bytes: int = 256 * 1024
    # How far a tool may run ahead of the client.
    max_buffered_bytes: int = 4 * 1024 * 1024
    # How many calls may wait while one runs (call_admission.py): what 16 threads leave.
    max_waiting_calls: int = waiting_room(16)


# Room for a message's own fields around its chunks (json_run's brackets, padding, tags, lengths).
_MESSAGE_OVERHEAD_BYTES = 1024
# How many ids of calls awaited before they arrived are remembered (see AwaitCall).
_ABANDONED_CALLS_KEPT = 4096


class BridgeServicer(bridge_pb2_grpc.BridgeServiceServicer):
    def __init__(self, adapter: BaseAdapter, adapter_name: str, worker_id: str, limits: Limits) -> None:
        self._adapter = adapter
        self._tools = tools_of(adapter)
        self._types = types_of(self._tools.values())
        self._adapter_name = adapter_name
        self._worker_id = worker_id
        self._limits = limits
        # A batch must fit in one message even when the message limit is set below max_batch_bytes.
        self._batch_bytes = min(limits.max_batch_bytes, limits.max_message_bytes - _MESSAGE_OVERHEAD_BYTES)
        # Calls whose tool is still running, by call id; each event is set when its tool ends.
        self._running: dict[str, threading.Event] = {}
        # Calls awaited before they arrived. A pool awaits only calls it cancelled, and a call's request
        # and its AwaitCall travel as two streams that the server may take in either order: such a call
        # must not start when it does arrive.
        self._abandoned: OrderedDict[str, None] = OrderedDict()
        self._running_changed = threading.Condition()
        # Runs the tools of calls one at a time, in their turn.
        self.admission = CallAdmission(limits.max_waiting_calls)

    @property
    def max_host_arguments_bytes(self) -> int:
        """The largest JSON of a host tool's arguments that fits in one message of the call's stream."""
        return self._limits.max_message_bytes - _MESSAGE_OVERHEAD_BYTES

    @property
    def worker_id(self) -> str:
        return self._worker_id

    def warm_up(self) -> None:
        """Builds every tool's schemas and validator in the background, so that first calls need not wait for it."""
        warm_up(self._types.values())

    def Ping(self, request: pb.PingRequest, context: grpc.ServicerContext) -> pb.PingResponse:
        # One call at a time: a pool gives a worker process one call, and `serve --workers N` one per process.
        return pb.PingResponse(
            message=request.message or "pong", worker_id=self._worker_id, pid=os.getpid(), capacity=1
        )

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
                    parameters_schema_json=self._types[info.name].parameters_schema_json,
                    result_schema_json=self._types[info.name].result_schema_json,
                )
                for info in self._tools.values()
            ],
        )

    def ExecuteTool(self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext) -> pb.ExecuteToolResponse:
        outcome = self.execute(request, context)
        if isinstance(outcome, CallFailure):
            abort(context, outcome, self._worker_id)
        return outcome

    def execute(
        self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext, host: HostToolChannel | None = None
    ) -> pb.ExecuteToolResponse | CallFailure:
        """Runs a unary tool, in its turn: its response, or why it failed."""
        try:
            leave = self.admission.enter(context)
        except CallFailure as failure:
            return failure
        try:
            return self._execute(request, context, host, leave)
        finally:
            leave()

    def _execute(
        self,
        request: pb.ExecuteToolRequest,
        context: grpc.ServicerContext,
        host: HostToolChannel | None,
        leave: Callable[[], None],
    ) -> pb.ExecuteToolResponse | CallFailure:
        call: CallContext | None = None
        outcome: pb.ExecuteToolResponse | CallFailure
        try:
            acknowledgment = Acknowledgment(context)
            tool, arguments, call = self._prepare(request, streaming=False, host=host)
            self._trace(call, context)
            if not context.add_callback(call.cancel):
                call.cancel()
            acknowledgment.wait_sent()
            ended = self._begin(call.call_id)
            try:
                with call.active():
                    result = tool.run(arguments)
                    if inspect.isawaitable(result):
                        result = self._await(result, call)
            finally:
                # Before the call counts as ended: the pool, told so by AwaitCall, may send the next at once.
                leave()
                self._end(call.call_id, ended)
            outcome = _unary_response(tool.name, result, self._limits.max_message_bytes)
        except BaseException as exception:
            # Including SystemExit and KeyboardInterrupt raised by a tool: grpc would drop the
            # call without a status, and the client would wait for its deadline.
            outcome = from_exception(exception)
        if call is not None:
            failure = outcome if isinstance(outcome, CallFailure) else None
            call.span.end(failure, cancelled=call.cancelled(), chunks=None)
        return outcome

    def ExecuteStreamingTool(
        self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ToolChunk]:
        for batch, call_id in self.stream(request, context):
            yield from batch.tool_chunks(call_id)

    def ExecuteStreamingToolBatched(
        self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        """Yields serialized ChunkBatch messages: the server registers this method without a serializer."""
        for batch, _ in self.stream(request, context):
            yield batch.build()

    def AwaitCall(self, request: pb.AwaitCallRequest, context: grpc.ServicerContext) -> pb.AwaitCallResponse:
        with self._running_changed:
            ended = self._running.get(request.call_id)
            if ended is None:
                self._abandoned[request.call_id] = None
                if len(self._abandoned) > _ABANDONED_CALLS_KEPT:
                    self._abandoned.popitem(last=False)
        return pb.AwaitCallResponse(ended=ended is None or ended.wait(request.timeout_ms / 1000))

    def wait_idle(self, timeout: float) -> bool:
        """Waits for running tools to be closed, so that their finally blocks run before the process exits."""
        with self._running_changed:
            return self._running_changed.wait_for(lambda: not self._running, timeout)

    def _begin(self, call_id: str) -> threading.Event:
        """Registers a call about to run its tool; raises if the pool already gave up on it."""
        ended = threading.Event()
        with self._running_changed:
            if call_id in self._abandoned:
                del self._abandoned[call_id]
                raise CallFailure(code="cancelled", message="the call was cancelled before it arrived")
            self._running[call_id] = ended
        return ended

    def _end(self, call_id: str, ended: threading.Event) -> None:
        ended.set()
        with self._running_changed:
            if self._running.get(call_id) is ended:
                del self._running[call_id]
            self._running_changed.notify_all()

    def stream(
        self, request: pb.ExecuteToolRequest, context: grpc.ServicerContext, host: HostToolChannel | None = None
    ) -> Iterator[tuple[ChunkBatchBuilder, str]]:
        """Runs a streaming tool: its chunks in batches, each with the call id; aborts the call when it fails.

        With ``host``, a batch may also come empty, when host-tool requests wait to be sent."""
        call: CallContext | None = None
        leave = _nothing
        try:
            leave = self.admission.enter(context)
            acknowledgment = Acknowledgment(context)
            tool, arguments, call = self._prepare(request, streaming=True, host=host)
            self._trace(call, context)
        except BaseException as exception:
            # Else the worker would admit no other call; the client hears what went wrong, not a transport error.
            failure = from_exception(exception)
            leave()
            if call is not None:
                call.span.end(failure, cancelled=call.cancelled(), chunks=0)
            abort(context, failure, self._worker_id)
            return
        call_id = call.call_id
        # Set once the call counts as running (AwaitCall waits for it), which it does only once acknowledged.
        ended: threading.Event | None = None

        def admit() -> None:
            nonlocal ended
            acknowledgment.wait_sent()
            ended = self._begin(call_id)

        def finished() -> None:
            # Before the call counts as ended: the pool, told so by AwaitCall, may send the next at once.
            leave()
            if ended is not None:
                self._end(call_id, ended)

        pump = ChunkPump(
            lambda: tool.run(arguments),
            call,
            max_buffered_bytes=self._limits.max_buffered_bytes,
            max_chunk_bytes=self._limits.max_message_bytes - _MESSAGE_OVERHEAD_BYTES,
            condition=host.condition if host is not None else None,
            admit=admit,
        )
        pump.on_finished(finished)
        if not context.add_callback(pump.cancel):
            pump.cancel()
        pump.start()
        next_index = 0
        interrupt = host.has_requests if host is not None else None
        while True:
            batch = ChunkBatchBuilder(self._batch_bytes, first_index=next_index)
            if not pump.take(batch.add, interrupt):
                break
            next_index += len(batch)
            yield batch, call.call_id
        if pump.failure is not None:
            abort(context, pump.failure, self._worker_id)

    def _trace(self, call: CallContext, context: grpc.ServicerContext) -> None:
        """Starts the span the tool runs in, from the trace context in the call's metadata."""
        call.span = start_tool_span(call, context.invocation_metadata(), self._worker_id)

    def _await(self, awaitable: Awaitable[object], call: CallContext) -> object:
        async def run() -> object:
            call.activate()
            return await awaitable

        # A LoopCall: after a cancel, result() returns once the tool's finally blocks ran, so that
        # AwaitCall does not report the call ended while its tool still cleans up.
        running = LoopCall(run())
        call.cancels_task(running.cancel)
        try:
            return running.result()
        except concurrent.futures.CancelledError as cancelled:
            raise CallFailure(code="cancelled", message="the call was cancelled") from cancelled

    def _prepare(
        self, request: pb.ExecuteToolRequest, *, streaming: bool, host: HostToolChannel | None
    ) -> tuple[ToolInfo, dict[str, object], CallContext]:
        tool = self._tools.get(request.tool_name)
        if tool is None:
            raise CallFailure(
                code="tool_not_found",
                message=f"no tool named {quote_input(request.tool_name)} in {self._adapter_name}",
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
        arguments = self._arguments(tool, request.arguments, request.attachments)
        session = SessionContext(session_id=request.session_id, host_tools=host)
        call = CallContext(
            call_id=request.call_id or uuid.uuid4().hex,
            tool_name=tool.name,
            session_id=request.session_id,
            host_tools=host,
            session_context=session,
        )
        try:
            self._adapter.set_session_context(session)
        except Exception as error:
            raise from_exception(error) from error
        return tool, arguments, call

    def _arguments(self, tool: ToolInfo, raw: bytes, attachments: Sequence[pb.Attachment]) -> dict[str, object]:
        # The JSON rules first (an object; no integer beyond ±(2^53-1), which pydantic would take), then the
        # signature, converting to its types (an ISO string to a datetime...), binary arguments put in place.
        arguments = decode_arguments(raw)
        clashing = sorted(tool.reserved.intersection(arguments))
        if clashing:
            raise CallFailure(
                code="invalid_arguments",
                message=f"{tool.name}(): " + "; ".join(f"unexpected argument {name!r}" for name in clashing),
                hint=f"parameters: {', '.join(parameter.name for parameter in tool.parameters) or 'none'}",
            )
        binaries = decode_binary_arguments(attachments)
        if binaries:
            check_placeholders(raw, binaries)
        if b"-0" in raw:
            # JSON's -0 reaches a tool as the float -0.0 (decode_arguments), which pydantic reads from "-0.0" only.
            raw = json.dumps(arguments).encode()
        return self._types[tool.name].validate(raw, binaries)


def _nothing() -> None:
    pass


def _unary_response(tool_name: str, result: object, max_message_bytes: int) -> pb.ExecuteToolResponse:
    if inspect.isgenerator(result) or inspect.isasyncgen(result):
        raise CallFailure(
            code="serialization_error",
            message=f"tool {tool_name!r} returned a generator",
            hint="mark it @tool(supports_streaming=True) and call it with stream()",
        )
    binary = encode_binary(result, "result")
    if binary is not None:
        response = aligned_response(
            pb.ExecuteToolResponse(
                result=binary.data,
                encoding=binary.encoding,
                array=pb.ArrayInfo(dtype=binary.dtype, shape=binary.shape) if binary.dtype else None,
            )
        )
    else:
        value = encode_value(result, "result")
        response = aligned_response(
            pb.ExecuteToolResponse(
                result=value.json,
                encoding=pb.ENCODING_JSON,
                attachments=[attachment_message(attachment) for attachment in value.attachments],
            )
        )
    # gRPC would refuse to send it with a bare RESOURCE_EXHAUSTED and no ErrorDetail; say why instead.
    size = response.ByteSize()
    if size > max_message_bytes:
        raise CallFailure(
            code="chunk_too_large",
            message=f"the result of {tool_name!r} is {size} bytes, over the {max_message_bytes}-byte message limit",
            hint="return a smaller result (or stream it in chunks), or raise the pool's maxMessageBytes",
        )
    return response
