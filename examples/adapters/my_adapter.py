"""The guide's "Enabling Streaming" snippet (Python Streaming Tools), as written."""

from snakepit_bridge.base_adapter import BaseAdapter, tool


class MyAdapter(BaseAdapter):
    @tool(description="Stream progress", supports_streaming=True)
    def stream_progress(self, steps: int = 10):
        for i in range(steps):
            yield {"step": i + 1, "total": steps, "progress": (i + 1) / steps * 100}
