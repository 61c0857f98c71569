"""The worker's asyncio loop and LoopCall, through which threads run coroutines on it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import pytest
import support
from snakepit_bridge.event_loop import LoopCall, worker_loop


def test_there_is_one_running_loop_per_process() -> None:
    loop = worker_loop()

    assert worker_loop() is loop
    assert loop.is_running()


def test_result_is_the_coroutines_value() -> None:
    async def add() -> int:
        await asyncio.sleep(0)
        return 5

    assert support.run_with_timeout(LoopCall(add()).result) == 5


def test_the_coroutines_exception_propagates() -> None:
    async def fail() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        support.run_with_timeout(LoopCall(fail()).result)


@pytest.mark.parametrize("error", [SystemExit(0), KeyboardInterrupt()], ids=["SystemExit", "KeyboardInterrupt"])
def test_system_exit_and_keyboard_interrupt_propagate_and_the_loop_runs_on(error: BaseException) -> None:
    async def leave() -> None:
        await asyncio.sleep(0)
        raise error

    async def add() -> int:
        return 2

    with pytest.raises(type(error)) as raised:
        support.run_with_timeout(LoopCall(leave()).result)

    assert raised.value is error, "the tool's own exception, with its traceback"
    assert worker_loop().is_running()
    assert support.run_with_timeout(LoopCall(add()).result) == 2


def test_after_cancel_result_waits_for_finally_blocks() -> None:
    sleeping = threading.Event()
    cleaned_up = threading.Event()

    async def tool() -> None:
        try:
            sleeping.set()
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.05)
            cleaned_up.set()

    call = LoopCall(tool())
    assert sleeping.wait(support.TIMEOUT)

    call.cancel()

    with pytest.raises(concurrent.futures.CancelledError):
        support.run_with_timeout(call.result)
    assert cleaned_up.is_set(), "result() returned before the coroutine's finally ran"


def test_cancel_before_the_task_starts_still_cancels_it() -> None:
    started = threading.Event()
    blocker = threading.Event()
    # Keep the loop busy so that the LoopCall's task cannot start before cancel().
    worker_loop().call_soon_threadsafe(blocker.wait, support.TIMEOUT)

    async def tool() -> None:
        started.set()

    call = LoopCall(tool())
    call.cancel()
    blocker.set()

    with pytest.raises(concurrent.futures.CancelledError):
        support.run_with_timeout(call.result)
    assert not started.is_set()
