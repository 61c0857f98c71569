"""An adapter whose tools make spans of their own, as an instrumented library would."""

import asyncio
from collections.abc import AsyncIterator, Iterator

import support
from opentelemetry import trace
from snakepit_bridge.base_adapter import BaseAdapter, tool
from snakepit_bridge.call_context import is_cancelled

tracer = trace.get_tracer("traced_adapters")


class TracedAdapter(BaseAdapter):
    @tool(supports_streaming=True)
    def count(self, n: int) -> Iterator[dict[str, int]]:
        for seq in range(n):
            with tracer.start_as_current_span("library.step"):
                yield {"seq": seq}

    @tool(supports_streaming=True)
    async def async_count(self, n: int) -> AsyncIterator[dict[str, int]]:
        for seq in range(n):
            with tracer.start_as_current_span("library.step"):
                await asyncio.sleep(0)
            yield {"seq": seq}

    @tool
    def add(self, a: int, b: int) -> int:
        with tracer.start_as_current_span("library.step"):
            return a + b

    @tool
    async def async_add(self, a: int, b: int) -> int:
        with tracer.start_as_current_span("library.step"):
            await asyncio.sleep(0)
            return a + b

    @tool(supports_streaming=True)
    def fail_after(self, n: int) -> Iterator[int]:
        yield from range(n)
        raise ValueError("diverged")

    @tool
    def fail(self) -> None:
        raise KeyError("missing")

    @tool(supports_streaming=True)
    def until_cancelled(self, probe: str) -> Iterator[int]:
        seq = 0
        while not is_cancelled():
            yield seq
            seq += 1
            if seq == 1:
                support.probe(probe).set("started")
            support.probe(probe).wait("never", timeout=0.005)
