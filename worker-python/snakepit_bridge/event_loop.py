"""One asyncio loop per worker, in its own thread, for async tools.

A single long-lived loop lets async tools keep loop-bound resources (clients,
sessions) between calls, which a loop per call would break.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def worker_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="snakepit-asyncio", daemon=True).start()
            _loop = loop
        return _loop


class _Escaped(Exception):
    """SystemExit or KeyboardInterrupt raised by a tool, carried as an ordinary exception.

    asyncio lets those two out of the loop: raised in a task, they would end the
    loop's thread, and every later async tool would wait forever.
    """

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


async def _contained(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        return await coroutine
    except (SystemExit, KeyboardInterrupt) as error:
        raise _Escaped(error) from None


class LoopCall(Generic[T]):
    """A coroutine run on the worker loop for a thread that waits for its outcome.

    Unlike the future of ``run_coroutine_threadsafe``, which reports cancellation
    at once, ``result()`` returns only once the task is done: after ``cancel()``,
    the coroutine's ``finally`` blocks (closing a generator, a session) have run
    by the time the waiting thread reports the call as ended.
    """

    def __init__(self, coroutine: Coroutine[Any, Any, T]) -> None:
        self._outcome: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._lock = threading.Lock()
        self._task: asyncio.Task[T] | None = None
        self._cancelled = False
        # Whether the task's cancel has reached it (read and written on the loop's thread only).
        self.cancel_delivered = False
        loop = worker_loop()
        loop.call_soon_threadsafe(self._begin, loop, coroutine)

    def _begin(self, loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> None:
        task = loop.create_task(_contained(coroutine))
        task.add_done_callback(self._settle)
        # A task cancelled before it starts never runs _contained, which would leave the tool's coroutine unawaited.
        task.add_done_callback(lambda _: coroutine.close())
        with self._lock:
            self._task = task
            cancelled = self._cancelled
        if cancelled:
            self._deliver_cancel(task)

    def _settle(self, task: asyncio.Task[T]) -> None:
        if task.cancelled():
            self._outcome.cancel()
        elif (error := task.exception()) is not None:
            self._outcome.set_exception(error.error if isinstance(error, _Escaped) else error)
        else:
            self._outcome.set_result(task.result())

    def cancel(self) -> None:
        """Cancels the task from any thread, even before it has started; once: a second cancel would interrupt
        the `finally` blocks that the first one runs."""
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            task = self._task
        if task is not None:
            task.get_loop().call_soon_threadsafe(self._deliver_cancel, task)

    def _deliver_cancel(self, task: asyncio.Task[T]) -> None:
        self.cancel_delivered = True
        task.cancel()

    def result(self) -> T:
        """Waits until the task is done; raises concurrent.futures.CancelledError if it was cancelled."""
        return self._outcome.result()
