"""Tools that call their host's tools, through the session context as Snakepit's adapters do and by our own names."""

from collections.abc import AsyncIterator, Iterator

import support
from snakepit_bridge.base_adapter import BaseAdapter, tool
from snakepit_bridge.host_tools import HostToolCancelledError


class HostCallingAdapter(BaseAdapter):
    @tool
    def double_on_host(self, value: int) -> object:
        assert self.session_context is not None
        return self.session_context.call_elixir_tool("double", value=value)

    @tool
    def listed_host_tools(self) -> object:
        assert self.session_context is not None
        return sorted(self.session_context.elixir_tools)

    @tool
    async def async_double_on_host(self, value: int) -> object:
        assert self.session_context is not None
        return await self.session_context.call_host_tool_async("double", value=value)

    @tool(supports_streaming=True)
    def stream_host_results(self, n: int) -> Iterator[object]:
        assert self.session_context is not None
        for value in range(n):
            yield self.session_context.call_host_tool("double", value=value)

    @tool(supports_streaming=True)
    async def async_stream_host_results(self, n: int) -> AsyncIterator[object]:
        assert self.session_context is not None
        for value in range(n):
            yield await self.session_context.call_host_tool_async("double", value=value)

    @tool
    def host_failure(self) -> object:
        assert self.session_context is not None
        try:
            return self.session_context.call_host_tool("fail", reason="bad input")
        except RuntimeError as error:
            return {"type": type(error).__name__, "message": str(error), "error_type": getattr(error, "error_type", "")}

    @tool
    def unknown_host_tool(self) -> object:
        assert self.session_context is not None
        try:
            return self.session_context.call_host_tool("no_such_tool")
        except ValueError as error:
            return {"type": type(error).__name__, "message": str(error)}

    @tool
    def wait_on_host(self, probe: str) -> object:
        assert self.session_context is not None
        try:
            return self.session_context.call_host_tool("never_answers")
        except HostToolCancelledError as error:
            support.probe(probe).record("cancelled", type(error).__name__)
            raise
