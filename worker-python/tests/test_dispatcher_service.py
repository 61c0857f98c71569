"""The relay's handling of cancelled and lost calls (dispatcher_service.py), with stand-ins for the worker processes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import cast

import grpc
import pytest
from snakepit_bridge.child_worker import ChildWorker, method_path
from snakepit_bridge.dispatcher import Dispatcher, Routing
from snakepit_bridge.dispatcher_service import NOT_STARTED_METADATA_KEY, DispatcherService
from snakepit_bridge.errors import ERROR_METADATA_KEY
from snakepit_bridge.grpc_services import BRIDGE_SERVICE_NAME
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.worker_processes import WorkerProcesses


class Child:
    """A worker process whose AwaitCall cannot say the tool ended: it timed out, or the process is stopping."""

    exited = False

    def __init__(self) -> None:
        self.kills: list[str] = []

    async def await_call(self, call_id: str, timeout: float) -> bool:
        return False

    def kill(self, reason: str) -> None:
        self.kills.append(reason)


class Processes:
    def __init__(self, stopping: bool, running: list[ChildWorker] | None = None) -> None:
        self.stopping = stopping
        self.running = running or []


async def settled(stopping: bool) -> tuple[Child, Dispatcher[ChildWorker]]:
    child = Child()
    dispatcher: Dispatcher[ChildWorker] = Dispatcher()
    dispatcher.join(cast(ChildWorker, child))
    assert await dispatcher.acquire(Routing("c-1", "")) is child
    service = DispatcherService(dispatcher, cast(WorkerProcesses, Processes(stopping)), "endpoint")
    await service.settle(cast(ChildWorker, child), "c-1")
    return child, dispatcher


def test_a_cancelled_tool_that_does_not_stop_gets_its_process_killed() -> None:
    child, _ = asyncio.run(settled(stopping=False))
    assert child.kills == ["its tool ignored cancellation for 30 s"]


def test_a_cancelled_tool_is_left_to_the_endpoints_stop_which_closes_it_with_its_grace() -> None:
    # Reproduces a SIGTERM race: the AwaitCall of a call the stop cancelled failed on a process already
    # stopping, and the process was killed before its generator's `finally` ran.
    child, _ = asyncio.run(settled(stopping=True))
    assert child.kills == []


class ExitedProcess:
    """A worker process that has died: its channel is being closed (worker_processes.py's watch)."""

    pid = 4242
    returncode = -9


async def ticks(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> None:
    while True:
        await context.write(b"tick")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def relayed_to_a_dead_process() -> AsyncIterator[tuple[ChildWorker, grpc.aio.Channel]]:
    """A relay whose one worker process (a server of `ticks`, in process) has exited; and a client's channel to it."""
    worker = grpc.aio.server()
    ticker: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_stream_rpc_method_handler(ticks)
    worker.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(BRIDGE_SERVICE_NAME, {"ExecuteStreamingTool": ticker})]
    )
    worker_port = worker.add_insecure_port("127.0.0.1:0")
    await worker.start()
    child = ChildWorker(
        "endpoint/1",
        cast(asyncio.subprocess.Process, ExitedProcess()),
        ExitedProcess.pid,
        grpc.aio.insecure_channel(f"127.0.0.1:{worker_port}"),
    )
    dispatcher: Dispatcher[ChildWorker] = Dispatcher()
    dispatcher.join(child)
    processes = Processes(stopping=False, running=[child])
    service = DispatcherService(dispatcher, cast(WorkerProcesses, processes), "endpoint")
    endpoint = grpc.aio.server()
    endpoint.add_generic_rpc_handlers([service.handler()])
    endpoint_port = endpoint.add_insecure_port("127.0.0.1:0")
    await endpoint.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{endpoint_port}") as channel:
            yield child, channel
    finally:
        await endpoint.stop(0)
        await worker.stop(0)


def refusal(error: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, pb.ErrorDetail, str]:
    """The status of a failed call, its ErrorDetail, and whether it says the call never started."""
    trailers = dict(tuple(error.trailing_metadata() or ()))
    detail = pb.ErrorDetail.FromString(cast(bytes, trailers[ERROR_METADATA_KEY]))
    return error.code(), detail, str(trailers.get(NOT_STARTED_METADATA_KEY, ""))


async def failure_of(call: grpc.aio.UnaryStreamCall[bytes, bytes]) -> tuple[grpc.StatusCode, pb.ErrorDetail, str]:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        while await call.read() is not grpc.aio.EOF:
            pass
    return refusal(raised.value)


def ticker_call(channel: grpc.aio.Channel) -> grpc.aio.UnaryStreamCall[bytes, bytes]:
    request = pb.ExecuteToolRequest(tool_name="ticker", call_id="c-1").SerializeToString()
    stream: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(method_path("ExecuteStreamingTool"))
    return stream(request, timeout=10)


def test_a_call_whose_process_died_fails_with_worker_crashed_when_its_channel_closes_first() -> None:
    async def run() -> tuple[grpc.StatusCode, pb.ErrorDetail, str]:
        async with relayed_to_a_dead_process() as (child, channel):
            call = ticker_call(channel)
            assert await call.read() == b"tick"
            # The race: the watch closes the dead process's channel before the relay's read sees it broken.
            await child.channel.close()
            return await failure_of(call)

    code, detail, not_started = asyncio.run(run())
    assert (code, detail.code, not_started) == (grpc.StatusCode.ABORTED, "worker_crashed", "")
    assert "worker process endpoint/1 (pid 4242) died while running 'ticker'" in detail.message


def test_a_call_given_a_process_whose_channel_just_closed_is_refused_as_not_started() -> None:
    async def run() -> tuple[grpc.StatusCode, pb.ErrorDetail, str]:
        async with relayed_to_a_dead_process() as (child, channel):
            await child.channel.close()
            return await failure_of(ticker_call(channel))

    code, detail, not_started = asyncio.run(run())
    assert (code, detail.code, not_started) == (grpc.StatusCode.UNAVAILABLE, "worker_unavailable", "1")
    assert detail.message == "worker process endpoint/1 exited"


def test_list_tools_from_a_process_whose_channel_just_closed_is_refused_as_not_started() -> None:
    async def run() -> tuple[grpc.StatusCode, pb.ErrorDetail, str]:
        async with relayed_to_a_dead_process() as (child, channel):
            await child.channel.close()
            list_tools: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method_path("ListTools"))
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await list_tools(pb.ListToolsRequest().SerializeToString(), timeout=10)
            return refusal(raised.value)

    code, detail, not_started = asyncio.run(run())
    assert (code, detail.code, not_started) == (grpc.StatusCode.UNAVAILABLE, "worker_unavailable", "1")
