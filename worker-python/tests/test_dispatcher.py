"""The dispatcher's rules (dispatcher.py), on plain objects standing for worker processes."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from snakepit_bridge.dispatcher import Dispatcher, Routing
from snakepit_bridge.errors import CallFailure

T = TypeVar("T")


class Process:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def run(test: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(test)


def started(dispatcher: Dispatcher[Process], count: int) -> list[Process]:
    processes = [Process(f"p{index + 1}") for index in range(count)]
    for process in processes:
        dispatcher.join(process)
    return processes


def call(call_id: str = "", session_id: str = "", strict: bool = False) -> Routing:
    return Routing(call_id, session_id, strict)


async def pending(dispatcher: Dispatcher[Process], routing: Routing) -> asyncio.Task[Process]:
    """A call waiting for a process; lets it reach the queue."""
    task = asyncio.create_task(dispatcher.acquire(routing))
    await asyncio.sleep(0)
    return task


def test_grants_free_processes_at_once_the_one_free_longest_first_and_queues_the_rest_in_order() -> None:
    async def scenario() -> None:
        dispatcher: Dispatcher[Process] = Dispatcher()
        p1, p2 = started(dispatcher, 2)
        assert await dispatcher.acquire(call("a")) is p1
        assert await dispatcher.acquire(call("b")) is p2
        third = await pending(dispatcher, call("c"))
        fourth = await pending(dispatcher, call("d"))
        assert (dispatcher.busy, dispatcher.waiting) == (2, 2)

        dispatcher.release(p2)
        assert await third is p2
        assert not fourth.done()
        dispatcher.release(p1)
        assert await fourth is p1
        assert dispatcher.waiting == 0

        dispatcher.release(p1)
        dispatcher.release(p2)
        # p1 has been free the longest.
        assert await dispatcher.acquire(call("e")) is p1

    run(scenario())


def test_a_session_goes_back_to_its_process_and_elsewhere_while_that_one_is_busy() -> None:
    async def scenario() -> None:
        dispatcher: Dispatcher[Process] = Dispatcher()
        started(dispatcher, 3)
        first = await dispatcher.acquire(call("a", "s"))
        dispatcher.release(first)
        other = await dispatcher.acquire(call("b"))
        assert other is not first
        dispatcher.release(other)
        assert await dispatcher.acquire(call("c", "s")) is first

        elsewhere = await dispatcher.acquire(call("d", "s"))
        assert elsewhere is not first

    run(scenario())


def test_a_strict_session_waits_for_its_process_while_others_are_free_and_is_served_before_earlier_calls() -> None:
    async def scenario() -> None:
        dispatcher: Dispatcher[Process] = Dispatcher()
        p1, p2 = started(dispatcher, 2)
        assert await dispatcher.acquire(call("a", "s")) is p1
        strict = await pending(dispatcher, call("b", "s", strict=True))
        assert not strict.done() and dispatcher.busy == 1

        assert await dispatcher.acquire(call("c")) is p2
        anyone = await pending(dispatcher, call("d"))
        later_strict = await pending(dispatcher, call("e", "s", strict=True))
        dispatcher.release(p1)
        assert await strict is p1
        assert not anyone.done() and not later_strict.done()
        dispatcher.release(p2)
        assert await anyone is p2

    run(scenario())


def test_a_strict_call_keeps_waiting_for_the_process_it_came_for_when_a_preferring_call_moves_the_session() -> None:
    async def scenario() -> None:
        dispatcher: Dispatcher[Process] = Dispatcher()
        p1, _ = started(dispatcher, 2)
        assert await dispatcher.acquire(call("a", "s")) is p1
        strict = await pending(dispatcher, call("b", "s", strict=True))
        moved = await dispatcher.acquire(call("c", "s"))
        dispatcher.release(moved)
        assert not strict.done()
        dispatcher.release(p1)
        assert await strict is p1

    run(scenario())


def test_a_process_that_leaves_is_never_granted_again_and_its_strict_sessions_take_any() -> None:
    async def scenario() -> None:
        dispatcher: Dispatcher[Process] = Dispatcher()
        p1, p2 = started(dispatcher, 2)
        assert await dispatcher.acquire(call("a", "s")) is p1
        assert await dispatcher.acquire(call("b")) is p2
        strict = await pending(dispatcher, call("c", "s", strict=True))

        dispatcher.leave(p1)
        dispatcher.release(p1)
        assert not strict.done()
        dispatcher.release(p2)
        assert await strict is p2

        replacement = Process("p1'")
        dispatcher.join(replacement)
        assert await dispatcher.acquire(call("d")) is replacement
        assert dispatcher.ran("a") is None, "its calls are gone with it"

    run(scenario())


def test_a_waiting_call_that_is_cancelled_leaves_the_queue_and_the_process_goes_to_the_next() -> None:
    async def scenario() -> None:
        dispatcher: Dispatcher[Process] = Dispatcher()
        (p1,) = started(dispatcher, 1)
        await dispatcher.acquire(call("a"))
        cancelled = await pending(dispatcher, call("b"))
        next_one = await pending(dispatcher, call("c"))

        cancelled.cancel()
        # Released in the same turn as the cancel, before the cancelled call could leave the queue.
        dispatcher.release(p1)
        assert await next_one is p1
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert dispatcher.waiting == 0

    run(scenario())


def test_a_call_granted_in_the_turn_it_is_cancelled_hands_its_process_on() -> None:
    async def scenario() -> None:
        dispatcher: Dispatcher[Process] = Dispatcher()
        (p1,) = started(dispatcher, 1)
        await dispatcher.acquire(call("a"))
        granted_then_cancelled = await pending(dispatcher, call("b"))
        dispatcher.release(p1)
        granted_then_cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await granted_then_cancelled
        assert await dispatcher.acquire(call("c")) is p1

    run(scenario())


def test_a_call_awaited_before_it_arrived_is_refused_and_a_known_one_is_found() -> None:
    async def scenario() -> None:
        dispatcher: Dispatcher[Process] = Dispatcher()
        (p1,) = started(dispatcher, 1)
        assert await dispatcher.acquire(call("known")) is p1
        assert dispatcher.ran("known") is p1
        dispatcher.abandon("known")
        dispatcher.release(p1)

        dispatcher.abandon("late")
        assert dispatcher.ran("late") is None
        with pytest.raises(CallFailure) as refused:
            await dispatcher.acquire(call("late"))
        assert refused.value.code == "cancelled"
        assert dispatcher.busy == 0
        assert await dispatcher.acquire(call("late")) is p1, "refused once, as the worker's own servicer does"

    run(scenario())


def test_while_refused_calls_fail_rather_than_wait_until_a_process_joins() -> None:
    async def scenario() -> None:
        dispatcher: Dispatcher[Process] = Dispatcher()
        (p1,) = started(dispatcher, 1)
        assert await dispatcher.acquire(call("a")) is p1
        waiting = await pending(dispatcher, call("b"))
        failure = CallFailure(code="worker_unavailable", message="none runs")
        dispatcher.refuse(failure)
        assert not waiting.done(), "refused only while no process runs"

        dispatcher.leave(p1)
        dispatcher.refuse(failure)
        with pytest.raises(CallFailure) as refused:
            await waiting
        assert refused.value.code == "worker_unavailable"
        with pytest.raises(CallFailure):
            await dispatcher.acquire(call("c"))
        assert dispatcher.waiting == 0

        p2 = Process("p2")
        dispatcher.join(p2)
        assert await dispatcher.acquire(call("d")) is p2
        assert not (await pending(dispatcher, call("e"))).done(), "calls wait again once a process runs"

    run(scenario())


def test_beyond_the_calls_it_keeps_waiting_a_call_is_refused_with_pool_saturated_at_once() -> None:
    async def scenario() -> None:
        dispatcher: Dispatcher[Process] = Dispatcher(max_waiting=2)
        (p1,) = started(dispatcher, 1)
        assert await dispatcher.acquire(call("a")) is p1
        waiting = [await pending(dispatcher, call(name)) for name in ("b", "c")]
        with pytest.raises(CallFailure) as refused:
            await dispatcher.acquire(call("d"))
        assert refused.value.code == "pool_saturated"
        assert "2 more wait" in refused.value.message
        # A call that leaves the queue makes room for another.
        waiting[0].cancel()
        await asyncio.gather(waiting[0], return_exceptions=True)
        later = await pending(dispatcher, call("e"))
        dispatcher.release(p1)
        assert await waiting[1] is p1
        dispatcher.release(p1)
        assert await later is p1

    run(scenario())
