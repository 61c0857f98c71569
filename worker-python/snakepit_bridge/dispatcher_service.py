"""BridgeService as a `serve --workers N` endpoint serves it: every call relayed to one worker process.

Requests and responses travel as the bytes they arrived as (read only for a call's routing: its call id and
session), in both directions, one message at a time: a slow client holds the relay back, which stops reading
from the worker process, whose generator then waits at its `yield`, as it would with the client itself. A
client that cancels cancels the relayed call, which closes the generator; the process serves the next call
only once its tool has stopped.

Ping is answered here, with the endpoint's capacity, or UNAVAILABLE while no worker process runs (as
ListTools and health then answer), so that a pool's connection check sees the endpoint down: the worker
processes are pinged by the dispatcher itself (worker_processes.py). AwaitCall goes to the process that ran
the call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf.message import Message

from snakepit_bridge.child_worker import ChildWorker, method_path
from snakepit_bridge.dispatcher import Dispatcher, Routing
from snakepit_bridge.errors import ERROR_METADATA_KEY, STATUS_DETAILS_BYTES, CallFailure, parse_request
from snakepit_bridge.grpc_services import BRIDGE_SERVICE_NAME
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.truncation import cut_end, quote_input
from snakepit_bridge.worker_processes import WorkerProcesses

logger = logging.getLogger(__name__)

# Trailer of a call refused before any process saw it (none runs): a pool may run it elsewhere
# (lib/contract/error-from-status.ts).
NOT_STARTED_METADATA_KEY = "snakepit-not-started"
# A call with `snakepit-session-affinity: strict` waits for its session's process even when others are free.
AFFINITY_METADATA_KEY = "snakepit-session-affinity"
# How long a cancelled call's tool gets to stop before its process is killed and replaced, for clients that
# do not say (a pool says, with AwaitCall and its cancelGracePeriod).
CANCEL_GRACE_SECONDS = 30.0
# Statuses after which the tool may still be running: the call was cancelled.
_UNFINISHED = frozenset({grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED})
# Statuses without an ErrorDetail that say the connection to the process broke (as lib/contract/error-from-status.ts).
_TRANSPORT_FAILURES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN})
# The client's metadata not passed on: its token (the processes take the dispatcher's), what gRPC sets itself.
_NOT_FORWARDED = frozenset({"authorization", "user-agent", AFFINITY_METADATA_KEY})
# Methods whose request arrives in the first of several messages, as a HostMessage.
_HOST_TOOL_METHODS = frozenset({"ExecuteToolWithHostTools", "ExecuteStreamingToolWithHostTools"})

Context = grpc.aio.ServicerContext[bytes, bytes]
M = TypeVar("M", bound=Message)

_NONE_RUNNING = CallFailure(code="worker_unavailable", message="no worker process is running")


async def abort(context: Context, failure: CallFailure, worker_id: str, *, not_started: bool = False) -> NoReturn:
    """Ends the call with the failure's status and ErrorDetail, as errors.abort does on a synchronous server."""
    trailers: tuple[tuple[str, str | bytes], ...] = (
        (ERROR_METADATA_KEY, failure.detail(worker_id).SerializeToString()),
    )
    if not_started:
        trailers += ((NOT_STARTED_METADATA_KEY, "1"),)
    await context.abort(failure.status, cut_end(failure.message, STATUS_DETAILS_BYTES), trailers)


def _has_error_detail(error: grpc.aio.AioRpcError) -> bool:
    return any(key == ERROR_METADATA_KEY for key, _ in tuple(error.trailing_metadata() or ()))


def _read_request(method: str, message: bytes) -> tuple[pb.ExecuteToolRequest | None, bytes]:
    """The call's request, with a call id when it came without one (the dispatcher awaits cancelled calls by
    their id); and the message to relay: the one received, unless it lacked the id."""
    if method in _HOST_TOOL_METHODS:
        host_message = parse_request(pb.HostMessage, message)
        if not host_message.HasField("request"):
            # Not a call's first message: the worker process refuses it as it would.
            return None, message
        request = host_message.request
    else:
        request = parse_request(pb.ExecuteToolRequest, message)
    if request.call_id:
        return request, message
    request.call_id = uuid.uuid4().hex
    if method in _HOST_TOOL_METHODS:
        return request, pb.HostMessage(request=request).SerializeToString()
    return request, request.SerializeToString()


class DispatcherService:
    """The handlers of BridgeService on the port the worker processes share."""

    def __init__(self, dispatcher: Dispatcher[ChildWorker], processes: WorkerProcesses, worker_id: str) -> None:
        self._dispatcher = dispatcher
        self._processes = processes
        self._worker_id = worker_id
        # Cancelled calls whose tool has not stopped yet, by call id.
        self._stopping: dict[str, ChildWorker] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def handler(self) -> grpc.GenericRpcHandler:
        """Every method, on bytes: nothing is decoded but what routing needs."""
        handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
            "Ping": grpc.unary_unary_rpc_method_handler(self._ping),
            "ListTools": grpc.unary_unary_rpc_method_handler(self._list_tools),
            "AwaitCall": grpc.unary_unary_rpc_method_handler(self._await_call),
            "ExecuteTool": grpc.unary_unary_rpc_method_handler(self._unary("ExecuteTool")),
            "ExecuteStreamingTool": grpc.unary_stream_rpc_method_handler(self._stream("ExecuteStreamingTool")),
            "ExecuteStreamingToolBatched": grpc.unary_stream_rpc_method_handler(
                self._stream("ExecuteStreamingToolBatched")
            ),
        }
        for method in _HOST_TOOL_METHODS:
            handlers[method] = grpc.stream_stream_rpc_method_handler(self._both_ways(method))
        return grpc.method_handlers_generic_handler(BRIDGE_SERVICE_NAME, handlers)

    async def _parsed(self, message_type: type[M], request: bytes, context: Context) -> M:
        try:
            return parse_request(message_type, request)
        except CallFailure as failure:
            await abort(context, failure, self._worker_id)

    async def _ping(self, request: bytes, context: Context) -> bytes:
        message = (await self._parsed(pb.PingRequest, request, context)).message
        if not self._processes.running:
            await abort(context, _NONE_RUNNING, self._worker_id)
        return pb.PingResponse(
            message=message or "pong", worker_id=self._worker_id, pid=os.getpid(), capacity=self._processes.count
        ).SerializeToString()

    async def _list_tools(self, request: bytes, context: Context) -> bytes:
        # Relayed as received, but read first: a worker process would refuse it with its own worker id.
        await self._parsed(pb.ListToolsRequest, request, context)
        running = self._processes.running
        if not running:
            await abort(context, _NONE_RUNNING, self._worker_id)
        child = running[0]
        list_tools: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = child.channel.unary_unary(method_path("ListTools"))
        try:
            response: bytes = await list_tools(request, metadata=child.metadata(), timeout=context.time_remaining())
        except grpc.aio.AioRpcError as error:
            await context.abort(error.code(), error.details() or "", tuple(error.trailing_metadata() or ()))
        except (grpc.aio.UsageError, asyncio.CancelledError):
            if not _closed_under(child):
                raise
            await abort(context, _exited(child), self._worker_id, not_started=True)
        return response

    async def _await_call(self, request: bytes, context: Context) -> bytes:
        awaited = await self._parsed(pb.AwaitCallRequest, request, context)
        child = self._dispatcher.ran(awaited.call_id)
        if child is None:
            # Never seen, or its process is gone: nothing of it runs here.
            self._dispatcher.abandon(awaited.call_id)
            return pb.AwaitCallResponse(ended=True).SerializeToString()
        ended = await child.await_call(awaited.call_id, awaited.timeout_ms / 1000)
        if (
            not ended
            and self._stopping.get(awaited.call_id) is child
            and not child.exited
            and not self._processes.stopping
        ):
            # The client gave up on the tool: only its process can end it, and only this process can say it has.
            child.kill(f"its tool ignored cancellation for {awaited.timeout_ms} ms")
            await child.process.wait()
        return pb.AwaitCallResponse(ended=ended or child.exited).SerializeToString()

    def _unary(self, method: str) -> Callable[[bytes, Context], Awaitable[bytes | None]]:
        async def handle(request: bytes, context: Context) -> bytes | None:
            return await self._relay(method, request, None, context)

        return handle

    def _stream(self, method: str) -> Callable[[bytes, Context], Awaitable[None]]:
        async def handle(request: bytes, context: Context) -> None:
            await self._relay(method, request, None, context)

        return handle

    def _both_ways(self, method: str) -> Callable[[AsyncIterator[bytes], Context], Awaitable[None]]:
        async def handle(requests: AsyncIterator[bytes], context: Context) -> None:
            first = await anext(requests, None)
            if first is None:
                failure = CallFailure(
                    code="invalid_arguments", message=f"the first message of a {method} call must be its request"
                )
                await abort(context, failure, self._worker_id)
            await self._relay(method, first, requests, context)

        return handle

    async def _relay(
        self, method: str, first: bytes, more: AsyncIterator[bytes] | None, context: Context
    ) -> bytes | None:
        """Runs the call on a free worker process: its response (unary calls), or its messages written to
        `context` one at a time, then its status."""
        try:
            request, first = _read_request(method, first)
            affinity = _metadata_value(context, AFFINITY_METADATA_KEY)
            routing = Routing(request.call_id, request.session_id, affinity == "strict") if request else Routing("", "")
            child = await self._dispatcher.acquire(routing)
        except CallFailure as failure:
            await abort(context, failure, self._worker_id, not_started=failure.code == "worker_unavailable")
        tool = quote_input(request.tool_name) if request else method
        try:
            upstream = self._open(child, method, first, more, context)
        except grpc.aio.UsageError:
            # The process exited after the dispatcher chose it. Nothing ran.
            await abort(context, _exited(child), self._worker_id, not_started=True)
        outcome = "running"
        try:
            if method == "ExecuteTool":
                # The headers go with the response: relaying them alone costs a unary call a quarter of a ms.
                response: bytes = await upstream
            else:
                # The process acknowledges a stream (sends its headers) before the tool runs; so does the relay.
                await context.send_initial_metadata(tuple(await upstream.initial_metadata() or ()))
                response = b""
                while (message := await upstream.read()) is not grpc.aio.EOF:
                    await context.write(message)
            outcome = "ended"
            trailing = tuple(await upstream.trailing_metadata() or ())
            if trailing:
                context.set_trailing_metadata(trailing)
            return response if method == "ExecuteTool" else None
        except asyncio.CancelledError:
            # The process died and its channel was closed before the call's read saw the connection break.
            if not _closed_under(child):
                raise
            outcome = "lost"
            await abort(context, self._loss(child, tool), child.worker_id)
        except grpc.aio.AioRpcError as error:
            if not _has_error_detail(error) and error.code() in _TRANSPORT_FAILURES:
                outcome = "lost"
                await abort(context, self._loss(child, tool), child.worker_id)
            if _has_error_detail(error) or error.code() not in _UNFINISHED:
                outcome = "ended"
            await context.abort(error.code(), error.details() or "", tuple(error.trailing_metadata() or ()))
        finally:
            # Before the status leaves: a client that saw the call end may send the next one at once.
            if outcome == "ended":
                self._dispatcher.release(child)
            elif outcome == "running":
                upstream.cancel()
                self._settle(child, routing.call_id)

    def _open(
        self, child: ChildWorker, method: str, first: bytes, more: AsyncIterator[bytes] | None, context: Context
    ) -> Any:
        metadata = child.metadata(_forwarded(context))
        timeout = context.time_remaining()
        path = method_path(method)
        if method == "ExecuteTool":
            unary: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = child.channel.unary_unary(path)
            return unary(first, metadata=metadata, timeout=timeout)
        if more is None:
            stream: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = child.channel.unary_stream(path)
            return stream(first, metadata=metadata, timeout=timeout)

        async def requests() -> AsyncIterator[bytes]:
            yield first
            async for message in more:
                yield message

        both_ways: grpc.aio.StreamStreamMultiCallable[bytes, bytes] = child.channel.stream_stream(path)
        return both_ways(requests(), metadata=metadata, timeout=timeout)

    def _loss(self, child: ChildWorker, tool: str) -> CallFailure:
        """Why a call failed with its process: the dispatcher killed it (it hung), or it died; it is replaced."""
        reason = child.kill_reason
        child.kill("its connection broke")
        what = f"was killed ({reason})" if reason else "died"
        return CallFailure(
            code="worker_crashed",
            message=f"worker process {child.worker_id} (pid {child.pid}) {what} while running {tool}",
            hint="the endpoint replaces it and serves on; this call is not retried",
        )

    def _settle(self, child: ChildWorker, call_id: str) -> None:
        self._stopping[call_id] = child
        task = asyncio.create_task(self.settle(child, call_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self, child: ChildWorker, call_id: str) -> None:
        """A cancelled call: its process serves others once its tool has stopped, or is replaced if it does not."""
        try:
            if await child.await_call(call_id, CANCEL_GRACE_SECONDS):
                self._dispatcher.release(child)
            elif not self._processes.stopping:
                child.kill(f"its tool ignored cancellation for {CANCEL_GRACE_SECONDS:g} s")
            # Else the endpoint's stop gives the process its grace: its AwaitCall, sent as it began stopping,
            # may have been refused, and a kill now would skip the generator's `finally`.
        finally:
            if self._stopping.get(call_id) is child:
                del self._stopping[call_id]


def _closed_under(child: ChildWorker) -> bool:
    """Whether a CancelledError or UsageError of a call to the process came from its channel, closed once the
    process exited (worker_processes.py), rather than from a cancel of the handler itself."""
    current = asyncio.current_task()
    return child.exited and current is not None and not current.cancelling()


def _exited(child: ChildWorker) -> CallFailure:
    return CallFailure(code="worker_unavailable", message=f"worker process {child.worker_id} exited")


def _metadata_value(context: Context, key: str) -> str | None:
    for entry_key, value in context.invocation_metadata() or ():
        if entry_key == key:
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return None


def _forwarded(context: Context) -> tuple[tuple[str, str | bytes], ...]:
    return tuple(
        (key, value)
        for key, value in context.invocation_metadata() or ()
        if key not in _NOT_FORWARDED and not key.startswith((":", "grpc-"))
    )
