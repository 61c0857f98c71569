"""Tools the guide's Elixir consumers call but the guide never defines in Python.

Not from the guide: written so that the TypeScript counterparts of those
consumers (examples/basic-stream.ts, error-handling.ts, cancellation.ts) have
something real to call. Each does the least its consumer needs to show.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any, TypedDict

from snakepit_bridge.base_adapter import BaseAdapter, tool

logger = logging.getLogger(__name__)


class ProcessedItem(TypedDict):
    """What process_items yields for each item."""

    item: Any
    # How many items are done, this one included.
    processed: int
    total: int


class MayFailStep(TypedDict):
    """What may_fail yields before it fails."""

    step: int
    steps: int


class Tick(TypedDict):
    """What infinite_stream yields, every interval seconds."""

    tick: int
    # Seconds since the epoch, on the worker.
    time: float


class ConsumerAdapter(BaseAdapter):
    @tool(description="Process items one by one, streaming each result", supports_streaming=True)
    def process_items(self, items: list[Any]) -> Iterator[ProcessedItem]:
        """For "Basic Example": one chunk per item, as soon as it is processed."""
        for position, item in enumerate(items, start=1):
            yield {"item": item, "processed": position, "total": len(items)}

    @tool(description="Stream steps, raising at step fail_at (never when null)", supports_streaming=True)
    def may_fail(self, steps: int = 3, fail_at: int | None = 2) -> Iterator[MayFailStep]:
        """For "Python Errors": the exception must reach Node after the chunks sent before it."""
        for step in range(1, steps + 1):
            if step == fail_at:
                raise ValueError(f"may_fail: step {step} of {steps} failed")
            yield {"step": step, "steps": steps}

    @tool(description="Stream ticks until the caller cancels", supports_streaming=True)
    def infinite_stream(self, interval: float = 0.1) -> Iterator[Tick]:
        """For "Stream Cancellation": never ends by itself.

        The ``finally`` shows that cancelling from Node closes the generator:
        its log line (at INFO, so the worker must log at that level) is what
        examples/cancellation.ts waits for.
        """
        ticks = 0
        try:
            while True:
                ticks += 1
                yield {"tick": ticks, "time": time.time()}
                time.sleep(interval)
        finally:
            logger.info("infinite_stream closed after %d ticks", ticks)
