"""The guide's streaming tools that it shows as bare methods, gathered into one adapter.

Each method is the guide's snippet, with a return annotation added so that
``npx snakepit-rx types`` describes what it yields
(examples/generated/guide-adapter.ts); only the class around them, the
imports and the types of what they yield are added. Sections of the guide:
"Using Generators" (stream_numbers), "StreamChunk Class" (stream_items),
"Training Progress" (train_model), "Chunked Dataset" (generate_dataset) and
"Enabling a Tool for Streaming" (my_streaming_tool).
"""

from collections.abc import Iterator
from typing import Literal, TypedDict

from snakepit_bridge.adapters.showcase.tool import StreamChunk
from snakepit_bridge.base_adapter import BaseAdapter, tool


class NumberChunk(TypedDict):
    number: int
    is_last: bool


class Item(TypedDict):
    index: int
    value: str


class EpochProgress(TypedDict):
    type: Literal["progress"]
    epoch: int
    loss: float
    accuracy: float


class TrainingComplete(TypedDict):
    type: Literal["complete"]
    final_loss: float
    final_accuracy: float


class DatasetRows(TypedDict):
    rows: int
    total: int
    # rows x 10 numbers
    data: list[list[float]]


class StepResult(TypedDict):
    step: int
    result: str


class GuideAdapter(BaseAdapter):
    # Using Generators
    @tool(description="Stream numbers", supports_streaming=True)
    def stream_numbers(self, count: int = 10) -> Iterator[NumberChunk]:
        for i in range(count):
            yield {"number": i, "is_last": i == count - 1}

    # StreamChunk Class
    @tool(description="Stream with metadata", supports_streaming=True)
    def stream_items(self, count: int = 5) -> Iterator[StreamChunk[Item]]:
        for i in range(count):
            yield StreamChunk(data={"index": i + 1, "value": f"Item {i + 1}"}, is_final=(i == count - 1))

    # Progress Update Patterns: Training Progress
    @tool(description="Train with progress", supports_streaming=True)
    def train_model(self, epochs: int = 10) -> Iterator[EpochProgress | TrainingComplete]:
        for epoch in range(epochs):
            loss = 1.0 / (epoch + 1)
            accuracy = min(0.95, 0.5 + epoch * 0.05)
            yield {"type": "progress", "epoch": epoch + 1, "loss": loss, "accuracy": accuracy}
        yield {"type": "complete", "final_loss": loss, "final_accuracy": accuracy}

    # Large Data Transfer Patterns: Chunked Dataset
    @tool(description="Generate dataset", supports_streaming=True)
    def generate_dataset(self, rows: int = 10000, chunk_size: int = 1000) -> Iterator[StreamChunk[DatasetRows]]:
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
    def my_streaming_tool(self, param: str) -> Iterator[StepResult]:
        for i in range(10):
            yield {"step": i, "result": f"Processing {param}"}
