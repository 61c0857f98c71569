"""The worker processes of a `serve --workers N` endpoint: started, watched, replaced.

A process that exits is replaced (after a backoff when replacements keep failing), and so is one that does
not answer its health ping within the worker timeout: a hung tool (a C call holding the GIL, a stopped
process) fails only its own call, with worker_crashed, and the endpoint serves on. While no process runs and
the latest start failed, calls are refused (worker_unavailable) rather than left waiting for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from snakepit_bridge import unix_socket
from snakepit_bridge.child_worker import ChildOptions, ChildWorker
from snakepit_bridge.dispatcher import Dispatcher
from snakepit_bridge.errors import CallFailure
from snakepit_bridge.truncation import cut_end

logger = logging.getLogger(__name__)

# The wait before replacing a process, by how many replacements in a row failed (as lib/pool/worker-pool.ts).
RESTART_BACKOFF_SECONDS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
# How long a process gets to close its running tools when the endpoint stops.
STOP_GRACE_SECONDS = 3.0
# How much of the latest start failure a refused call's message quotes, in UTF-8 bytes.
START_ERROR_BYTES = 512


class WorkerProcesses:
    """N processes, each started as `<id>/<n>`; the dispatcher hears of every one that joins or leaves."""

    def __init__(
        self, count: int, worker_id: str, options: ChildOptions, dispatcher: Dispatcher[ChildWorker], timeout: float
    ) -> None:
        self._count = count
        self._worker_id = worker_id
        self._options = options
        self._dispatcher = dispatcher
        self._timeout = timeout
        self._running: dict[int, ChildWorker] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        # Why the latest start failed, until a process starts.
        self._start_error: str | None = None
        # Set whenever a process joins or leaves (availability()).
        self._changed = asyncio.Event()

    @property
    def count(self) -> int:
        return self._count

    @property
    def stopping(self) -> bool:
        """Whether the endpoint is stopping: its processes are closing their tools, each within its grace."""
        return self._stopping

    @property
    def running(self) -> list[ChildWorker]:
        return list(self._running.values())

    async def availability(self) -> AsyncIterator[bool]:
        """Whether any process runs: now, then each time that changes."""
        available: bool | None = None
        while True:
            if bool(self._running) == available:
                self._changed.clear()
                await self._changed.wait()
            else:
                available = bool(self._running)
                yield available

    async def start(self) -> None:
        """Starts every process at once; raises (having stopped the others) if one cannot start."""
        started = await asyncio.gather(
            *(ChildWorker.start(self._name(slot), self._options) for slot in range(self._count)),
            return_exceptions=True,
        )
        failures = [outcome for outcome in started if isinstance(outcome, BaseException)]
        children = [outcome for outcome in started if isinstance(outcome, ChildWorker)]
        if failures:
            await asyncio.gather(*(child.stop(0) for child in children))
            raise failures[0]
        for slot, child in enumerate(children):
            self._add(slot, child)
        self._spawn(self._check_health())

    async def stop(self) -> None:
        """Stops every process: asks each to close its tools, kills it after a grace period."""
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*(child.stop(STOP_GRACE_SECONDS) for child in self._running.values()))

    def _name(self, slot: int) -> str:
        return f"{self._worker_id}/{slot + 1}"

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _add(self, slot: int, child: ChildWorker) -> None:
        self._running[slot] = child
        self._start_error = None
        self._changed.set()
        self._dispatcher.join(child)
        self._spawn(self._watch(slot, child))

    async def _watch(self, slot: int, child: ChildWorker) -> None:
        code = await child.process.wait()
        self._dispatcher.leave(child)
        del self._running[slot]
        self._changed.set()
        with contextlib.suppress(Exception):
            await child.channel.close()
        if child.socket_path is not None:
            # A process killed with its supervisor left it, and the directory's last process to end would not
            # remove the directory while it is there.
            unix_socket.remove_socket(child.socket_path, pool_gone=False)
        if self._stopping:
            return
        self._refuse_calls_if_down()
        logger.warning(
            "worker %s (pid %d) exited (%s); starting a replacement",
            child.worker_id,
            child.pid,
            child.kill_reason or f"code {code}",
        )
        await self._replace(slot)

    async def _replace(self, slot: int) -> None:
        attempt = 0
        while not self._stopping:
            await asyncio.sleep(RESTART_BACKOFF_SECONDS[min(attempt, len(RESTART_BACKOFF_SECONDS) - 1)])
            try:
                child = await ChildWorker.start(self._name(slot), self._options)
            except Exception as error:
                attempt += 1
                logger.error("replacement of worker %s failed (attempt %d): %s", self._name(slot), attempt, error)
                self._start_error = str(error) or error.__class__.__name__
                self._refuse_calls_if_down()
                continue
            if self._stopping:
                await child.stop(0)
                return
            self._add(slot, child)
            return

    def _refuse_calls_if_down(self) -> None:
        # Waiting would be in vain: the next start may fail too, and a pool may run the call elsewhere.
        if self._running or self._start_error is None or self._stopping:
            return
        failure = CallFailure(
            code="worker_unavailable",
            message=f"no worker process is running and replacements keep failing; the last start failed with: "
            f"{cut_end(self._start_error, START_ERROR_BYTES)}",
            hint="the call did not run; the endpoint keeps starting a replacement and reports SERVING once one runs",
        )
        self._dispatcher.refuse(failure)

    async def _check_health(self) -> None:
        # Pings go on a thread of the worker's own, answered even while a tool runs: one that does not answer
        # is hung (or stopped), and its call would otherwise wait for its deadline.
        while True:
            await asyncio.sleep(self._timeout / 2)
            await asyncio.gather(*(self._ping(child) for child in self.running))

    async def _ping(self, child: ChildWorker) -> None:
        try:
            await child.ping(self._timeout)
        except Exception as error:
            if not child.exited and not self._stopping:
                child.kill(f"it did not answer its health ping within {self._timeout:g} s ({error.__class__.__name__})")
