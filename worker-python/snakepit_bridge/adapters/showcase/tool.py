"""The streaming guide's import path for StreamChunk (which lives in snakepit_bridge.stream_chunk), and the
``Tool`` wrapper Snakepit's showcase handlers keep their functions in (``{name: Tool(func)}``)."""

from __future__ import annotations

from collections.abc import Callable

from snakepit_bridge.stream_chunk import StreamChunk

__all__ = ["StreamChunk", "Tool"]


class Tool:
    """A handler function in a tool registry, as an adapter's ``execute_tool`` dispatches to it
    (see snakepit_bridge.context_tools): ``func`` takes the session context first."""

    def __init__(self, func: Callable[..., object]) -> None:
        self.func = func
        self.name: str = getattr(func, "__name__", type(func).__name__)

    def __call__(self, *args: object, **kwargs: object) -> object:
        return self.func(*args, **kwargs)
