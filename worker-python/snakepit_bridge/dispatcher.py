"""Which worker process of a `serve --workers N` endpoint runs which call.

One gRPC channel sends every call to the process that owns the port, however
many processes stand behind it; that process (dispatcher_main.py) relays each
call to one of its worker processes, chosen here: one call per process at a
time, a session's calls on the process that served it before, and calls
waiting in arrival order while every process is busy. It mirrors the pool's
own WorkerPool and LeaseQueue (lib/pool/), for the processes of one endpoint.

The workers are opaque here (the relay gives ChildWorker objects, the tests
plain ones), so that the rules can be tested without processes.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from snakepit_bridge.errors import CallFailure

W = TypeVar("W", bound=Hashable)

# As many sessions as a pool remembers (lib/pool/worker-pool.ts).
MAX_REMEMBERED_SESSIONS = 10_000
# Call ids remembered for AwaitCall, as the servicer remembers calls awaited before they arrived.
MAX_REMEMBERED_CALLS = 4096


@dataclass(frozen=True)
class Routing:
    """What a call says about where it should run."""

    call_id: str
    session_id: str
    # The client asked that a session's calls wait for its process (metadata `snakepit-session-affinity: strict`).
    strict: bool = False


@dataclass(eq=False)
class _Waiter(Generic[W]):
    routing: Routing
    # The process a strict session waits for.
    requires: W | None
    granted: asyncio.Future[W] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def _remember(table: OrderedDict[str, W | None], key: str, value: W | None, limit: int) -> None:
    table.pop(key, None)
    table[key] = value
    if len(table) > limit:
        table.popitem(last=False)


class Dispatcher(Generic[W]):
    """Grants worker processes to calls: at once when one is free, else in arrival order as they free up."""

    def __init__(self, max_waiting: int | None = None) -> None:
        # Each waiting call holds its request, up to --max-message-bytes: without a bound, clients could fill
        # the endpoint's memory. None: no bound.
        self._max_waiting = max_waiting
        self._workers: set[W] = set()
        # Free processes, the one free the longest first: calls spread over every process.
        self._idle: deque[W] = deque()
        self._waiters: deque[_Waiter[W]] = deque()
        self._sessions: OrderedDict[str, W | None] = OrderedDict()
        # Which process each recent call ran on, for AwaitCall.
        self._calls: OrderedDict[str, W | None] = OrderedDict()
        # Calls awaited before they arrived (see AwaitCall in servicer.py): refused when they do arrive.
        self._abandoned: OrderedDict[str, None] = OrderedDict()
        # Why calls fail rather than wait while no process runs (refuse()); None: they wait for one.
        self._refusal: CallFailure | None = None

    @property
    def busy(self) -> int:
        return len(self._workers) - len(self._idle)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def join(self, worker: W) -> None:
        """A process is ready for calls: a new one, or a replacement."""
        self._workers.add(worker)
        self._refusal = None
        self._make_available(worker)

    def leave(self, worker: W) -> None:
        """A process is gone: it is never granted again, and its sessions go elsewhere."""
        if worker not in self._workers:
            return
        self._workers.discard(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        for session, owner in list(self._sessions.items()):
            if owner is worker:
                del self._sessions[session]
        # A strict session waiting for it may now take any process.
        while self._idle and (waiter := self._take_waiter(self._idle[0])) is not None:
            self._grant(waiter, self._idle.popleft())

    def refuse(self, failure: CallFailure) -> None:
        """No process runs and none can start for now: the calls waiting, and those that arrive until a process
        joins, fail with `failure` rather than wait for one."""
        if self._workers:
            return
        self._refusal = failure
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.granted.done():
                waiter.granted.set_exception(dataclasses.replace(failure))

    def ran(self, call_id: str) -> W | None:
        """The process a recent call ran on, if it is still one of ours."""
        worker = self._calls.get(call_id)
        return worker if worker in self._workers else None

    def abandon(self, call_id: str) -> None:
        """A client awaits a call this endpoint has not seen: the call is refused if it arrives later."""
        if call_id and call_id not in self._calls:
            _remember(self._abandoned, call_id, None, MAX_REMEMBERED_CALLS)

    async def acquire(self, routing: Routing) -> W:
        """A process for the call, once one is free; raises CallFailure for a call abandoned before it arrived, while
        calls are refused (refuse()), or when `max_waiting` calls already wait (pool_saturated)."""
        if routing.call_id in self._abandoned:
            del self._abandoned[routing.call_id]
            raise CallFailure(code="cancelled", message="the call was cancelled before it arrived")
        preferred = self._sessions.get(routing.session_id) if routing.session_id else None
        requires = preferred if routing.strict else None
        worker = self._take_idle(preferred, requires)
        if worker is not None:
            self._record(routing, worker)
            return worker
        if self._refusal is not None:
            raise dataclasses.replace(self._refusal)
        if self._max_waiting is not None and len(self._waiters) >= self._max_waiting:
            raise CallFailure(
                code="pool_saturated",
                message=f"every worker process runs a call and {len(self._waiters)} more wait, as many as it keeps",
                hint="serve with more --workers to run more calls at once, or with more --threads to queue more",
            )
        waiter: _Waiter[W] = _Waiter(routing, requires)
        self._waiters.append(waiter)
        try:
            return await waiter.granted
        except asyncio.CancelledError:
            if waiter.granted.done() and not waiter.granted.cancelled() and waiter.granted.exception() is None:
                # Granted in the same turn as the cancel: hand the process on.
                self.release(waiter.granted.result())
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def release(self, worker: W) -> None:
        """The process's call is over and its tool has stopped: it serves the next call."""
        if worker in self._workers and worker not in self._idle:
            self._make_available(worker)

    def _make_available(self, worker: W) -> None:
        waiter = self._take_waiter(worker)
        if waiter is None:
            self._idle.append(worker)
        else:
            self._grant(waiter, worker)

    def _grant(self, waiter: _Waiter[W], worker: W) -> None:
        self._record(waiter.routing, worker)
        waiter.granted.set_result(worker)

    def _record(self, routing: Routing, worker: W) -> None:
        if routing.session_id:
            _remember(self._sessions, routing.session_id, worker, MAX_REMEMBERED_SESSIONS)
        if routing.call_id:
            _remember(self._calls, routing.call_id, worker, MAX_REMEMBERED_CALLS)

    def _take_idle(self, preferred: W | None, requires: W | None) -> W | None:
        wanted = requires if requires is not None else preferred
        if wanted is not None and wanted in self._idle:
            self._idle.remove(wanted)
            return wanted
        if requires is not None and requires in self._workers:
            return None
        return self._idle.popleft() if self._idle else None

    def _take_waiter(self, worker: W) -> _Waiter[W] | None:
        """The waiter `worker` serves next: the first that waits for it (a strict session's process when it arrived)
        or prefers it (a session it served), else the first that may take any process. A waiter whose call was
        cancelled is skipped: it leaves the queue itself."""
        waiting = [waiter for waiter in self._waiters if not waiter.granted.done()]
        chosen = next(
            (
                waiter
                for waiter in waiting
                if waiter.requires is worker
                or (
                    waiter.requires is None
                    and waiter.routing.session_id
                    and self._sessions.get(waiter.routing.session_id) is worker
                )
            ),
            None,
        )
        if chosen is None:
            chosen = next(
                (waiter for waiter in waiting if waiter.requires is None or waiter.requires not in self._workers),
                None,
            )
        if chosen is not None:
            self._waiters.remove(chosen)
        return chosen
