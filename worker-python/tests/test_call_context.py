"""Cooperative cancellation: what a running tool sees of its call."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
import support
from snakepit_bridge.call_context import CallContext, current_call, is_cancelled
from snakepit_bridge.chunk_pump import ChunkPump
from snakepit_bridge.event_loop import worker_loop


def new_call(call_id: str = "call-1") -> CallContext:
    return CallContext(call_id=call_id, tool_name="tool", session_id="session")


def test_outside_a_call_there_is_no_current_call() -> None:
    with pytest.raises(LookupError):
        current_call()
    assert is_cancelled() is False


def test_active_makes_the_call_current_for_a_block_and_restores_the_previous_one() -> None:
    outer, inner = new_call("outer"), new_call("inner")

    with outer.active():
        assert current_call() is outer
        with inner.active():
            assert current_call() is inner
        assert current_call() is outer

    with pytest.raises(LookupError):
        current_call()


def test_activate_affects_only_its_own_thread() -> None:
    call = new_call()
    seen: list[CallContext] = []

    def serve() -> None:
        call.activate()
        seen.append(current_call())

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join(support.TIMEOUT)

    assert seen == [call]
    with pytest.raises(LookupError):
        current_call()


def test_cancel_is_visible_through_is_cancelled_and_the_event() -> None:
    call = new_call()

    with call.active():
        assert is_cancelled() is False
        call.cancel()
        assert is_cancelled() is True
    assert call.cancelled() and call.cancelled_event.is_set()


def run_on_worker_loop(coroutine: object) -> asyncio.Future[object]:
    return asyncio.run_coroutine_threadsafe(coroutine, worker_loop())  # type: ignore[arg-type]


def test_wait_cancelled_returns_when_another_thread_cancels() -> None:
    call = new_call()
    waiting = threading.Event()

    async def tool() -> bool:
        call.activate()
        waiting.set()
        await current_call().wait_cancelled()
        return is_cancelled()

    outcome = run_on_worker_loop(tool())
    assert waiting.wait(support.TIMEOUT)
    assert not outcome.done()

    call.cancel()

    assert outcome.result(support.TIMEOUT) is True


def test_wait_cancelled_returns_at_once_when_already_cancelled() -> None:
    call = new_call()
    call.cancel()

    async def tool() -> str:
        call.activate()
        await current_call().wait_cancelled()
        return "returned"

    assert run_on_worker_loop(tool()).result(support.TIMEOUT) == "returned"


def test_cancel_wakes_every_waiter() -> None:
    call = new_call()
    waiting = threading.Semaphore(0)

    async def waiter() -> str:
        waiting.release()
        await call.wait_cancelled()
        return "woken"

    outcomes = [run_on_worker_loop(waiter()) for _ in range(3)]
    for _ in outcomes:
        assert waiting.acquire(timeout=support.TIMEOUT)

    call.cancel()

    assert [outcome.result(support.TIMEOUT) for outcome in outcomes] == ["woken"] * 3


def test_sync_streaming_tool_sees_is_cancelled_when_its_pump_is_cancelled(probe: support.Probe) -> None:
    def tool() -> Iterator[str]:
        yield "started"
        probe.set("waiting")
        current_call().cancelled_event.wait(support.TIMEOUT)
        probe.record("is_cancelled", is_cancelled())
        probe.set("observed")

    call = new_call()
    pump = ChunkPump(tool, call, max_buffered_bytes=1 << 20, max_chunk_bytes=1 << 20)
    finished = threading.Event()
    pump.on_finished(finished.set)
    pump.start()
    assert probe.wait("waiting")
    assert probe.records("is_cancelled") == []

    pump.cancel()

    assert probe.wait("observed")
    assert probe.records("is_cancelled") == [True]
    assert finished.wait(support.TIMEOUT)


def test_async_streaming_tool_goes_on_after_wait_cancelled_when_its_pump_is_cancelled(probe: support.Probe) -> None:
    async def tool() -> AsyncIterator[str]:
        yield "started"
        probe.set("waiting")
        await current_call().wait_cancelled()
        # The task's cancellation was absorbed: the tool can still await its own clean-up.
        await asyncio.sleep(0)
        probe.record("is_cancelled", is_cancelled())
        probe.set("observed")

    call = new_call()
    pump = ChunkPump(tool, call, max_buffered_bytes=1 << 20, max_chunk_bytes=1 << 20)
    finished = threading.Event()
    pump.on_finished(finished.set)
    pump.start()
    assert probe.wait("waiting")

    pump.cancel()

    assert probe.wait("observed")
    assert probe.records("is_cancelled") == [True]
    assert finished.wait(support.TIMEOUT)
    assert pump.failure is None


def test_cancel_cancels_the_tools_task_before_it_wakes_wait_cancelled() -> None:
    """So that wait_cancelled absorbs the task's cancel: woken first, a tool would go on, and the cancel, still on
    its way, interrupt what it awaits next."""
    call = new_call()
    queued: list[str] = []

    class Loop:
        def call_soon_threadsafe(self, callback: object, *args: object) -> None:
            queued.append("wake wait_cancelled")

    call._async_waiters.append((Loop(), asyncio.Event()))  # type: ignore[arg-type]
    call.cancels_task(lambda: queued.append("cancel the task"))

    call.cancel()

    assert queued == ["cancel the task", "wake wait_cancelled"]


def test_a_task_registered_once_its_call_is_cancelled_is_cancelled_at_once() -> None:
    call = new_call()
    call.cancel()
    cancelled: list[bool] = []

    call.cancels_task(lambda: cancelled.append(True))

    assert cancelled == [True]


def test_a_task_cancelled_while_its_call_is_not_still_raises_in_wait_cancelled() -> None:
    call = new_call()
    started = threading.Event()

    async def tool() -> str:
        started.set()
        try:
            await call.wait_cancelled()
        except asyncio.CancelledError:
            return "cancelled"
        return "returned"

    async def cancel_the_task_only() -> str:
        task = asyncio.ensure_future(tool())
        await asyncio.sleep(0)
        task.cancel()
        return await task

    assert run_on_worker_loop(cancel_the_task_only()).result(support.TIMEOUT) == "cancelled"
    assert not call.cancelled()
