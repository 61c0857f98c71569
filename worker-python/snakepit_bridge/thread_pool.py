"""Daemon threads reused from call to call, for the work each streaming call runs on a thread of its own.

Starting a thread costs a streaming call about 0.2 ms here (Thread.start waits until the new
thread runs), a fifth of a warm pool's first chunk (`npm run bench`, workload 4).
concurrent.futures.ThreadPoolExecutor would reuse threads too, but its threads are not daemons:
the interpreter joins them at exit, and a tool that ignores cancellation would hold the exit.

Each task runs in a fresh contextvars.Context, as it would on a new thread, so that nothing a
tool sets in a context variable reaches the next call. A thread left idle for IDLE_SECONDS ends.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

IDLE_SECONDS = 60.0


class DaemonThreadPool:
    def __init__(self, name: str, idle_seconds: float = IDLE_SECONDS) -> None:
        self._name = name
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._tasks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        # Threads waiting for a task that no submit has claimed yet; each claim queues one task.
        self._idle = 0
        self._started = 0

    def submit(self, task: Callable[[], None]) -> None:
        """Runs ``task`` on an idle thread, or on a new one when none is idle. ``task`` handles its own errors."""
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                self._tasks.put(task)
                return
            self._started += 1
            number = self._started
        threading.Thread(target=self._serve, args=(task,), name=f"{self._name}-{number}", daemon=True).start()

    def _serve(self, task: Callable[[], None]) -> None:
        while True:
            try:
                contextvars.Context().run(task)
            except BaseException:
                logger.exception("a task of %s raised", self._name)
            with self._lock:
                self._idle += 1
            next_task = self._next()
            if next_task is None:
                return
            task = next_task

    def _next(self) -> Callable[[], None] | None:
        try:
            return self._tasks.get(timeout=self._idle_seconds)
        except queue.Empty:
            with self._lock:
                # A submit that claimed this thread as it timed out has queued its task: run it.
                try:
                    return self._tasks.get_nowait()
                except queue.Empty:
                    self._idle -= 1
                    return None
