"""Snakepit 0.13's adapter API, which BaseAdapter carries so that Snakepit adapters run unchanged.

``initialize()`` and ``cleanup()`` (sync or async) run around the adapter's life in a worker: once
after it is created, once when the worker stops. Snakepit creates an adapter per request and calls
them around each; here one adapter serves every call of its worker, as this package's adapters
always have, so state set up in ``initialize()`` lasts.

``set_session_context(ctx)`` is called before each call, with the call's
:class:`~snakepit_bridge.session_context.SessionContext`; ``session_context`` and ``session_id``
read the running call's own even when calls overlap, and outside a call what was set last.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from snakepit_bridge.call_context import running_call
from snakepit_bridge.context_tools import ExecuteToolDispatch, current_session_context
from snakepit_bridge.event_loop import LoopCall

if TYPE_CHECKING:
    from snakepit_bridge.base_adapter import ToolInfo
    from snakepit_bridge.session_context import SessionContext

_SESSION_CONTEXT = "_session_context"
_SESSION_ID = "_session_id"


class SnakepitAdapterApi:
    """The methods and properties Snakepit's ``BaseAdapter`` gives its subclasses."""

    def _tools_by_name(self) -> dict[str, ToolInfo]:
        raise NotImplementedError

    @property
    def session_context(self) -> SessionContext | None:
        """The running call's session context; outside a call, the one set last (None before any)."""
        call = running_call()
        if call is not None and call.session_context is not None:
            return call.session_context
        context: SessionContext | None = self.__dict__.get(_SESSION_CONTEXT)
        return context

    @session_context.setter
    def session_context(self, context: SessionContext | None) -> None:
        self.__dict__[_SESSION_CONTEXT] = context

    @property
    def session_id(self) -> str | None:
        """The session of the running call (empty when the call has none); None outside any. Snakepit's
        BaseAdapter leaves the name to its subclasses: one that assigns it reads what it assigned."""
        if _SESSION_ID in self.__dict__:
            assigned: str | None = self.__dict__[_SESSION_ID]
            return assigned
        context = self.session_context
        return None if context is None else context.session_id

    @session_id.setter
    def session_id(self, session_id: str | None) -> None:
        self.__dict__[_SESSION_ID] = session_id

    def set_session_context(self, session_context: SessionContext) -> None:
        """Called by the worker before each call. An override should call this, or set ``self.session_context``."""
        self.session_context = session_context

    def get_tools(self) -> list[ToolInfo]:
        """The adapter's tools, each with ``name``, ``description``, ``supports_streaming`` and ``parameters``."""
        return list(self._tools_by_name().values())

    def call_tool(self, tool_name: str, **kwargs: object) -> object:
        """Calls one of the adapter's tools (or any of its methods) by name, as Snakepit's does."""
        found = self._tools_by_name().get(tool_name)
        if found is not None and isinstance(found.function, ExecuteToolDispatch):
            # Straight to the handler: execute_tool may itself fall back to call_tool.
            return found.function.handler(current_session_context(), **kwargs)
        method = getattr(self, tool_name, None)
        if method is None:
            available = ", ".join(sorted(self._tools_by_name())) or "none"
            raise AttributeError(f"Tool '{tool_name}' not found in {type(self).__name__} (tools: {available})")
        if not callable(method):
            raise TypeError(f"'{tool_name}' is not a callable tool")
        return method(**kwargs)

    def initialize(self) -> object:
        """Runs once before the worker serves its first call; may be async. Raising fails the worker's start."""
        return None

    def cleanup(self) -> object:
        """Runs once when the worker stops, after its last call; may be async."""
        return None


def run_lifecycle_hook(adapter: object, name: str) -> None:
    """Runs ``adapter.initialize`` or ``adapter.cleanup``, awaiting it on the worker's loop when it is async.

    Any adapter may define them, BaseAdapter or not, as Snakepit looks them up by name.
    """
    hook = getattr(adapter, name, None)
    if not callable(hook):
        return
    outcome = hook()
    if inspect.isawaitable(outcome):
        LoopCall(_awaited(outcome)).result()


async def _awaited(awaitable: Awaitable[object]) -> object:
    return await awaitable
