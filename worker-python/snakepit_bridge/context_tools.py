"""Tools an adapter serves through ``execute_tool(tool_name, arguments, context)``, as Snakepit adapters do.

Snakepit sends every call to an adapter's ``execute_tool``; its showcase adapter dispatches there to
handler functions that take the session context first (``handler(ctx, **arguments)``), kept in
registries of ``Tool`` wrappers (``{name: Tool(func)}``, usually built from handlers' ``get_tools()``).
Those tools have no ``@tool`` mark, so discovery finds them here, for an adapter that defines
``execute_tool``: in each attribute of the adapter instance that is such a registry, or a handler (or a
mapping of handlers) whose ``get_tools()`` returns one. A registry entry is any object with a callable
``func``. Each tool found is listed with the handler's signature (the context parameter left out),
runs through ``execute_tool`` as in Snakepit, and streams when its handler is a generator.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping

from snakepit_bridge.call_context import running_call
from snakepit_bridge.session_context import SessionContext


class ExecuteToolDispatch:
    """Runs one context tool as Snakepit would: ``adapter.execute_tool(tool_name=..., arguments=..., context=...)``."""

    def __init__(self, name: str, handler: Callable[..., object], execute_tool: Callable[..., object]) -> None:
        self.name = name
        self.handler = handler
        self._execute_tool = execute_tool
        signature = inspect.signature(handler)
        # The keyword parameters a caller gives: those after the context the handler takes first.
        self.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])
        self.description = inspect.getdoc(handler) or ""
        self.supports_streaming = inspect.isgeneratorfunction(handler) or inspect.isasyncgenfunction(handler)

    def __call__(self, /, **arguments: object) -> object:
        # Positional-only self: a tool's keyword named 'self' is one of its arguments.
        return self._execute_tool(tool_name=self.name, arguments=arguments, context=current_session_context())


def current_session_context() -> SessionContext:
    """The session context of the call the running tool serves; an empty one outside a call."""
    call = running_call()
    if call is None or call.session_context is None:
        return SessionContext()
    return call.session_context


def _handler_of(entry: object) -> Callable[..., object] | None:
    handler = getattr(entry, "func", None)
    return handler if callable(handler) else None


def _entries(registry: Mapping[object, object]) -> Iterator[tuple[str, Callable[..., object]]]:
    for key, entry in registry.items():
        handler = _handler_of(entry)
        if isinstance(key, str) and handler is not None:
            yield key, handler


def _handler_registry(value: object) -> Mapping[object, object] | None:
    """What a handler's ``get_tools()`` returns, when it is a mapping."""
    get_tools = getattr(value, "get_tools", None)
    if not callable(get_tools) or inspect.isclass(value):
        return None
    tools = get_tools()
    return tools if isinstance(tools, Mapping) else None


def _registry_entries(value: object) -> Iterator[tuple[str, Callable[..., object]]]:
    """(name, handler) of a registry, of a mapping of handlers, or of one handler."""
    if isinstance(value, Mapping):
        yield from _entries(value)
        for entry in value.values():
            registry = None if _handler_of(entry) is not None else _handler_registry(entry)
            if registry is not None:
                yield from _entries(registry)
        return
    registry = _handler_registry(value)
    if registry is not None:
        yield from _entries(registry)


def discover(adapter: object) -> dict[str, ExecuteToolDispatch]:
    """The tools ``adapter.execute_tool`` serves, by name; none when it defines no ``execute_tool``."""
    execute_tool = getattr(adapter, "execute_tool", None)
    if not callable(execute_tool):
        return {}
    found: dict[str, ExecuteToolDispatch] = {}
    for value in vars(adapter).values():
        for name, handler in _registry_entries(value):
            if name not in found:
                found[name] = ExecuteToolDispatch(name, handler, execute_tool)
    return found
