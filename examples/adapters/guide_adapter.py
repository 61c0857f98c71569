"""The guide's streaming tools that it shows as bare methods, gathered into one adapter.

Each method is the guide's snippet as written; only the class around them and
the imports are added. Sections of the guide: "Using Generators"
(stream_numbers), "StreamChunk Class" (stream_items), "Training Progress"
(train_model), "Chunked Dataset" (generate_dataset) and "Enabling a Tool for
Streaming" (my_streaming_tool).
"""

from snakepit_bridge.adapters.showcase.tool import StreamChunk
from snakepit_bridge.base_adapter import BaseAdapter, tool


class GuideAdapter(BaseAdapter):
    # Using Generators
    @tool(description="Stream numbers", supports_streaming=True)
    def stream_numbers(self, count: int = 10):
        for i in range(count):
            yield {"number": i, "is_last": i == count - 1}

    # StreamChunk Class
    @tool(description="Stream with metadata", supports_streaming=True)
    def stream_items(self, count: int = 5):
        for i in range(count):
            yield StreamChunk(data={"index": i + 1, "value": f"Item {i + 1}"}, is_final=(i == count - 1))

    # Progress Update Patterns: Training Progress
    @tool(description="Train with progress", supports_streaming=True)
    def train_model(self, epochs: int = 10):
        for epoch in range(epochs):
            loss = 1.0 / (epoch + 1)
            accuracy = min(0.95, 0.5 + epoch * 0.05)
            yield {"type": "progress", "epoch": epoch + 1, "loss": loss, "accuracy": accuracy}
        yield {"type": "complete", "final_loss": loss, "final_accuracy": accuracy}

    # Large Data Transfer Patterns: Chunked Dataset
    @tool(description="Generate dataset", supports_streaming=True)
    def generate_dataset(self, rows: int = 10000, chunk_size: int = 1000):
        import numpy as np

        total_sent = 0
        while total_sent < rows:
            batch = min(chunk_size, rows - total_sent)
            data = np.random.randn(batch, 10)
            total_sent += batch
            yield StreamChunk(
                data={"rows": batch, "total": total_sent, "data": data.tolist()}, is_final=(total_sent >= rows)
            )

    # Server-Side Streaming Implementation: Enabling a Tool for Streaming
    @tool(description="Stream results", supports_streaming=True)
    def my_streaming_tool(self, param: str):
        for i in range(10):
            yield {"step": i, "result": f"Processing {param}"}
