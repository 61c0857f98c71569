"""The relay's handling of cancelled calls (dispatcher_service.py), with stand-ins for the worker processes."""

from __future__ import annotations

import asyncio
from typing import cast

from snakepit_bridge.child_worker import ChildWorker
from snakepit_bridge.dispatcher import Dispatcher, Routing
from snakepit_bridge.dispatcher_service import DispatcherService
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
    def __init__(self, stopping: bool) -> None:
        self.stopping = stopping


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
