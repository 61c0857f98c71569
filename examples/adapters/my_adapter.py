"""The guide's "Enabling Streaming" snippet (Python Streaming Tools).

The method is the guide's, with a return annotation added (``-> Iterator[ProgressStep]``) so that
``npx snakepit-rx types`` describes what it yields (examples/generated/my-adapter.ts).
"""

from collections.abc import Iterator
from typing import TypedDict

from snakepit_bridge.base_adapter import BaseAdapter, tool


class ProgressStep(TypedDict):
    """What stream_progress yields at each step."""

    step: int
    total: int
    # Percent done, 0-100.
    progress: float


class MyAdapter(BaseAdapter):
    @tool(description="Stream progress", supports_streaming=True)
    def stream_progress(self, steps: int = 10) -> Iterator[ProgressStep]:
        for i in range(steps):
            yield {"step": i + 1, "total": steps, "progress": (i + 1) / steps * 100}
