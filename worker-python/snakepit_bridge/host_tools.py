"""Calls from a tool to the tools its host (the Node pool) registered with ``createPool({ hostTools })``.

A call's host tools travel on the call's own gRPC stream (the ``...WithHostTools`` methods), so that
they work for remote workers too, which cannot connect back to Node. This module holds one call's
side of it: the pending host-tool calls and what their answers become in Python. It imports only
the standard library at import time (``snakepit_bridge.SessionContext`` is built on it); the worker's
encoder is imported by the first request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable


class HostToolError(RuntimeError):
    """A host tool failed in Node; the message is the Node error's message.

    A ``RuntimeError``, as a failed ``call_elixir_tool`` raises in Snakepit.
    """

    def __init__(self, message: str, *, tool: str, error_type: str = "") -> None:
        super().__init__(message)
        self.tool = tool
        """The host tool that failed."""
        self.error_type = error_type
        """The Node error's name (``Error``, ``TypeError``, ``SnakepitError``, ...)."""


class HostToolCancelledError(HostToolError):
    """The tool's call was cancelled while it waited for a host tool."""


class HostToolNotFoundError(ValueError):
    """No host tool of that name: a ``ValueError``, as Snakepit raises for an unknown Elixir tool."""


# What Node sends to settle a host-tool call: the result's JSON, or an error (message, type).
Outcome = tuple[bytes, None] | tuple[None, tuple[str, str]]


def _encode_arguments(name: str, arguments: dict[str, object]) -> bytes:
    """The arguments as Node will read them, under the rules of results: the standard library's encoder
    would send an integer beyond 2^53 that JavaScript rounds, and merge keys such as 1 and "1"."""
    from snakepit_bridge.encoding import encode_json
    from snakepit_bridge.errors import CallFailure

    try:
        return encode_json(arguments, "arguments")
    except CallFailure as failure:
        hint = f" ({failure.hint})" if failure.hint else ""
        raise TypeError(f"arguments of host tool {name!r} cannot be sent as JSON: {failure.message}{hint}") from failure


class HostToolChannel:
    """One tool call's link to the host's tools: queues requests for the call's stream, and matches
    Node's answers to them.

    The stream takes queued requests with ``take_requests`` when ``has_requests`` holds (under
    ``condition``, which a request notifies). ``start_reading()`` is called once, before the first
    request, to start reading answers: ``settle`` each, then ``close`` at the end of the stream.
    """

    def __init__(
        self, names: Iterable[str], start_reading: Callable[[], None], *, max_arguments_bytes: int | None = None
    ) -> None:
        self.names = tuple(names)
        # A request larger than the call's message limit would fail the whole call, past the tool's reach.
        self._max_arguments_bytes = max_arguments_bytes
        self.condition = threading.Condition()
        self._start_reading = start_reading
        self._reading = False
        self._ids = itertools.count(1)
        self._requests: deque[tuple[int, str, bytes]] = deque()
        self._pending: dict[int, tuple[str, concurrent.futures.Future[object]]] = {}
        self._closed: str | None = None

    def request(self, name: str, arguments: dict[str, object]) -> concurrent.futures.Future[object]:
        """Queues a request; the future settles with the host tool's result or a HostToolError."""
        if name not in self.names:
            registered = ", ".join(sorted(self.names)) or "none"
            raise HostToolNotFoundError(
                f"no host tool named {name!r}: the pool registers {registered} (createPool({{ hostTools }}) in Node)"
            )
        encoded = _encode_arguments(name, arguments)
        if self._max_arguments_bytes is not None and len(encoded) > self._max_arguments_bytes:
            raise ValueError(
                f"arguments of host tool {name!r} are {len(encoded)} bytes of JSON, over the "
                f"{self._max_arguments_bytes}-byte message limit: pass large data by reference, "
                "or raise the pool's maxMessageBytes"
            )
        future: concurrent.futures.Future[object] = concurrent.futures.Future()
        with self.condition:
            if self._closed is not None:
                raise HostToolCancelledError(self._closed, tool=name)
            call_id = next(self._ids)
            self._pending[call_id] = (name, future)
            start, self._reading = not self._reading, True
        if start:
            self._start_reading()
        with self.condition:
            self._requests.append((call_id, name, encoded))
            self.condition.notify_all()
        return future

    def call(self, name: str, arguments: dict[str, object]) -> object:
        """Calls a host tool and waits for its result (for sync tools)."""
        return self.request(name, arguments).result()

    async def call_async(self, name: str, arguments: dict[str, object]) -> object:
        """Calls a host tool and awaits its result (for async tools: the event loop keeps running)."""
        return await asyncio.wrap_future(self.request(name, arguments))

    def has_requests(self) -> bool:
        """Whether requests wait to be sent; call it holding ``condition``."""
        return bool(self._requests)

    @property
    def closed(self) -> bool:
        """Whether the call's stream is over: nobody reads what the call would send."""
        return self._closed is not None

    def take_requests(self) -> list[tuple[int, str, bytes]]:
        """The requests waiting to be sent, as (id, tool name, arguments as JSON), in order."""
        with self.condition:
            taken = list(self._requests)
            self._requests.clear()
            return taken

    def settle(self, call_id: int, outcome: Outcome) -> None:
        """Node's answer to the request ``call_id``."""
        with self.condition:
            entry = self._pending.pop(call_id, None)
        if entry is None:
            return
        name, future = entry
        result, error = outcome
        if error is not None:
            future.set_exception(HostToolError(error[0], tool=name, error_type=error[1]))
            return
        try:
            future.set_result(json.loads(result) if result else None)
        except ValueError as failure:
            future.set_exception(HostToolError(f"host tool {name!r} answered with invalid JSON: {failure}", tool=name))

    def close(self, reason: str) -> None:
        """No answer will come any more (the call ended or was cancelled): pending calls fail with ``reason``."""
        with self.condition:
            if self._closed is None:
                self._closed = reason
            pending, self._pending = self._pending, {}
            self._requests.clear()
            self.condition.notify_all()
        for name, future in pending.values():
            future.set_exception(HostToolCancelledError(reason, tool=name))
