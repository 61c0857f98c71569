"""Adapters written as Snakepit 0.13's documentation and showcase adapter write them: our own code,
using Snakepit's API the way they do (handlers taking the context first, their own Tool and StreamChunk
wrappers, execute_tool dispatch, session_context, initialize/cleanup, @tool with Snakepit's arguments)."""

import asyncio
import os
import time
from typing import Any

from snakepit_bridge import SessionContext, telemetry
from snakepit_bridge.base_adapter import BaseAdapter, tool
from snakepit_bridge.logging_config import get_logger

logger = get_logger(__name__)


class Tool:
    """A handler function, as the showcase keeps them (its own class, not ours)."""

    def __init__(self, func):
        self.func = func
        self.name = func.__name__


class StreamChunk:
    """A chunk wrapper of the adapter's own, as the showcase's: data and is_final, no metadata."""

    def __init__(self, data, is_final=False):
        self.data = data
        self.is_final = is_final


class AnnotatedChunk(StreamChunk):
    def __init__(self, data, is_final=False, metadata=None):
        super().__init__(data, is_final)
        self.metadata = metadata


class CountingHandler:
    """Handlers take the session context first."""

    def get_tools(self) -> dict[str, Tool]:
        return {
            "ctx_add": Tool(self.add),
            "ctx_session": Tool(self.session),
            "ctx_countdown": Tool(self.countdown),
            "ctx_echo": Tool(self.echo),
        }

    def add(self, ctx, a: float, b: float = 1.0) -> float:
        """Adds two numbers."""
        return a + b

    def session(self, ctx) -> dict[str, Any]:
        return {"session_id": ctx.session_id, "context_type": type(ctx).__name__}

    def countdown(self, ctx, start: int = 3):
        for value in range(start, 0, -1):
            yield StreamChunk({"value": value}, is_final=(value == 1))
        yield StreamChunk({"value": "never sent"})

    def echo(self, ctx, **kwargs) -> dict[str, Any]:
        return {"handler": kwargs}


class SnakepitStyleAdapter(BaseAdapter):
    def __init__(self):
        super().__init__()
        self.handlers = {"counting": CountingHandler()}
        self._handler_tools = {}
        for handler in self.handlers.values():
            self._handler_tools.update(handler.get_tools())
        self.session_context = None
        self.initialized = False
        self.contexts_seen = []

    def set_session_context(self, session_context):
        self.session_context = session_context
        self.contexts_seen.append(session_context)

    async def initialize(self):
        await asyncio.sleep(0)
        self.initialized = True
        marker = os.environ.get("SNAKEPIT_STYLE_MARKER")
        if marker:
            with open(marker, "a", encoding="utf-8") as events:
                events.write("initialize\n")

    def cleanup(self):
        marker = os.environ.get("SNAKEPIT_STYLE_MARKER")
        if marker:
            with open(marker, "a", encoding="utf-8") as events:
                events.write("cleanup\n")

    def execute_tool(self, tool_name: str, arguments: dict[str, Any], context) -> Any:
        if tool_name in self._handler_tools:
            return self._handler_tools[tool_name].func(context, **arguments)
        return self.call_tool(tool_name, **arguments)

    @tool(description="Whether initialize() ran")
    def is_initialized(self) -> bool:
        return self.initialized

    @tool(description="Needs a session variable", required_variables=["api_key"])
    def with_required_variables(self, value: int) -> int:
        return value

    @tool("Described positionally")
    def described_positionally(self) -> str:
        return "ok"

    @tool(description="The echo that wins over the handler's")
    def ctx_echo(self, message: str) -> dict[str, Any]:
        return {"method": message}

    @tool(description="Session info through the adapter")
    def session_info(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "context_session_id": self.session_context.session_id if self.session_context else None,
            "is_session_context": isinstance(self.session_context, SessionContext),
        }

    @tool(description="Calls other tools by name")
    def via_call_tool(self, a: float) -> dict[str, Any]:
        return {
            "method": self.call_tool("described_positionally"),
            "handler": self.call_tool("ctx_add", a=a, b=2),
            "tools": sorted(t.name for t in self.get_tools()),
        }

    @tool(description="Streams the showcase's way", supports_streaming=True)
    def stream_data(self, count: int = 3):
        for i in range(count):
            yield StreamChunk({"index": i + 1, "total": count}, is_final=(i == count - 1))

    @tool(description="Chunks with metadata", supports_streaming=True)
    def annotated(self):
        yield AnnotatedChunk({"step": 1})
        yield AnnotatedChunk({"step": 2}, is_final=True, metadata={"model": "v1"})

    @tool(description="A chunk with metadata that is not str to str", supports_streaming=True)
    def bad_metadata(self):
        yield AnnotatedChunk({"step": 1}, metadata={"count": 3})

    @tool(description="Telemetry the showcase's way")
    def telemetry_demo(self, delay_ms: int = 1) -> dict[str, Any]:
        correlation_id = telemetry.get_correlation_id()
        telemetry.emit(
            "tool.execution.start", {"system_time": time.time_ns()}, {"tool": "telemetry_demo"}, correlation_id
        )
        with telemetry.span("tool.execution", {"tool": "telemetry_demo"}, correlation_id):
            time.sleep(delay_ms / 1000)
        logger.warning("telemetry_demo ran")
        return {"correlation_id": correlation_id, "telemetry_enabled": telemetry.is_enabled()}


class FailingInitialize(BaseAdapter):
    def initialize(self):
        raise RuntimeError("no model file")


def double(ctx, value: int) -> dict[str, Any]:
    """Doubles a value."""
    return {"doubled": 2 * value, "session_id": ctx.session_id}


class OwnNames(BaseAdapter):
    """Names Snakepit's BaseAdapter leaves to its subclasses, taken: a registry in ``tools``, a ``session_id``."""

    def __init__(self):
        super().__init__()
        self.tools = {"double": Tool(double)}
        self.session_id = None

    def execute_tool(self, tool_name: str, arguments: dict[str, Any], context) -> Any:
        self.session_id = context.session_id
        return self.tools[tool_name].func(context, **arguments)

    @tool(description="The session_id the adapter assigned last")
    def own_session_id(self) -> Any:
        return self.session_id
