"""The call a tool is running for, so that a long-running tool can notice that it was cancelled.

Sync tools poll ``is_cancelled()`` or wait on ``current_call().cancelled_event``;
async tools ``await current_call().wait_cancelled()``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakepit_bridge.host_tools import HostToolChannel
    from snakepit_bridge.session_context import SessionContext

from snakepit_bridge.tracing import NO_SPAN, ToolSpan


@dataclass
class CallContext:
    call_id: str
    tool_name: str
    session_id: str
    host_tools: HostToolChannel | None = None
    """The host's tools, when the call came on a stream that carries them."""
    session_context: SessionContext | None = None
    """What the adapter is given as its session context for this call."""
    cancelled_event: threading.Event = field(default_factory=threading.Event)
    _async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = field(default_factory=list)
    _cancel_task: Callable[[], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    span: ToolSpan = NO_SPAN
    """The span the tool runs in: current wherever the call is."""

    def cancelled(self) -> bool:
        return self.cancelled_event.is_set()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled_event.set()
            waiters, self._async_waiters = self._async_waiters, []
            cancel_task, self._cancel_task = self._cancel_task, None
        # The task's cancel first: queued on the loop before the wake-ups, it reaches a tool waiting in
        # wait_cancelled() there, which absorbs it. Woken first, the tool would go on, and the cancel
        # interrupt whatever it awaits next (its clean-up).
        if cancel_task is not None:
            cancel_task()
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)
        if self.host_tools is not None:
            self.host_tools.close("the call was cancelled")

    def cancels_task(self, cancel_task: Callable[[], None]) -> None:
        """How to cancel the task an async tool runs in (its LoopCall's cancel): ``cancel()`` calls it, at once
        if the call is cancelled already."""
        with self._lock:
            if not self.cancelled_event.is_set():
                self._cancel_task = cancel_task
                return
        cancel_task()

    async def wait_cancelled(self) -> None:
        """Returns once the call is cancelled (by the client, a timeout or the pool closing).

        The worker also cancels the tool's task; a tool waiting here absorbs
        that cancellation and goes on, to clean up or return, as a sync tool
        does after ``is_cancelled()``. Anywhere else the task's cancellation
        raises ``CancelledError`` as usual.
        """
        event = asyncio.Event()
        with self._lock:
            if self.cancelled_event.is_set():
                return
            self._async_waiters.append((asyncio.get_running_loop(), event))
        try:
            await event.wait()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self.cancelled() or task is None:
                raise
            task.uncancel()

    def activate(self) -> None:
        """Makes this the current call (and its span the current span) of a thread or task that serves only this call."""
        _current.set(self)
        self.span.attach()

    @contextmanager
    def active(self) -> Iterator[None]:
        """Makes this the current call (and its span the current span) for the duration of a block, in a
        thread that serves many calls."""
        token = _current.set(self)
        span_token = self.span.attach()
        try:
            yield
        finally:
            self.span.detach(span_token)
            _current.reset(token)


_current: ContextVar[CallContext | None] = ContextVar("snakepit_call", default=None)


def current_call() -> CallContext:
    """The call the running tool serves; raises LookupError outside a tool call."""
    call = _current.get()
    if call is None:
        raise LookupError("not inside a snakepit tool call")
    return call


def running_call() -> CallContext | None:
    """The call the running tool serves, or None outside a tool call."""
    return _current.get()


def is_cancelled() -> bool:
    """True when the running tool's call was cancelled; False outside a tool call."""
    call = _current.get()
    return call is not None and call.cancelled()
