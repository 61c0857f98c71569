"""One call's tool at a time in a process; the calls that come meanwhile wait their turn, in order.

A pool gives a worker process one call at a time, and ``Ping`` reports a capacity of 1; but several
pools may share one ``serve`` endpoint, each sending its own call. Each waiting call holds a thread of
the gRPC server (grpcio's synchronous server has no other place to keep it), so only so many may wait:
beyond that, a call is refused with ``pool_saturated``, and threads stay free for ``Ping``, ``AwaitCall``,
``ListTools`` and health checks, without which pools and Kubernetes' probes would take the endpoint out
of service.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

import grpc

from snakepit_bridge.errors import CallFailure

# Threads kept for what must answer while calls wait: Ping, AwaitCall, ListTools, health checking.
RESERVED_THREADS = 4


def waiting_room(threads: int) -> int:
    """How many calls may wait on a server of this many threads: those the running call and the reserve leave."""
    return max(0, threads - 1 - RESERVED_THREADS)


class CallAdmission:
    def __init__(self, max_waiting: int) -> None:
        self._max_waiting = max_waiting
        self._condition = threading.Condition()
        self._busy = False
        self._waiting: deque[object] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def enter(self, context: grpc.ServicerContext) -> Callable[[], None]:
        """Waits for the call's turn, and returns what ends it (callable more than once). Raises CallFailure:
        ``pool_saturated`` when ``max_waiting`` calls already wait, ``cancelled`` when the client gives up
        (cancels, or its deadline passes) while the call waits."""
        with self._condition:
            if not self._busy and not self._waiting:
                self._busy = True
                return self._leaver()
            if len(self._waiting) >= self._max_waiting:
                raise CallFailure(
                    code="pool_saturated",
                    message=f"this worker runs a call and {len(self._waiting)} more wait, as many as it keeps",
                    hint="serve with --workers N to run calls at once, or with more --threads to queue more",
                )
            turn = object()
            self._waiting.append(turn)
        # Called when the call ends, however: while it waits, only a cancel or a deadline can end it.
        if not context.add_callback(self._wake):
            self._leave_queue(turn)
            raise _gave_up()
        with self._condition:
            while self._busy or self._waiting[0] is not turn:
                if not context.is_active():
                    self._leave_queue(turn)
                    raise _gave_up()
                self._condition.wait()
            self._waiting.popleft()
            self._busy = True
        return self._leaver()

    def _leaver(self) -> Callable[[], None]:
        left = False

        def leave() -> None:
            nonlocal left
            with self._condition:
                if not left:
                    left = True
                    self._busy = False
                    self._condition.notify_all()

        return leave

    def _leave_queue(self, turn: object) -> None:
        with self._condition:
            self._waiting.remove(turn)
            self._condition.notify_all()

    def _wake(self) -> None:
        with self._condition:
            self._condition.notify_all()


def _gave_up() -> CallFailure:
    return CallFailure(code="cancelled", message="the call was cancelled while it waited for the worker")
