"""The guide's "Complete Streaming Example" Python adapter.

The method is the guide's, with a return annotation added so that ``npx snakepit-rx types``
describes what it yields (examples/generated/ml-streaming-adapter.ts).
"""

import time
from collections.abc import Iterator
from typing import Literal, TypedDict

from snakepit_bridge.adapters.showcase.tool import StreamChunk
from snakepit_bridge.base_adapter import BaseAdapter, tool


class EpochUpdate(TypedDict):
    """One chunk per epoch."""

    epoch: int
    # Rounded to 4 decimals.
    loss: float
    accuracy: float


class TrainingComplete(TypedDict):
    """The last chunk, marked final."""

    status: Literal["complete"]
    # model_<unix time>
    model_id: str


class MLStreamingAdapter(BaseAdapter):
    @tool(description="Train with streaming progress", supports_streaming=True)
    def train_with_progress(self, epochs: int = 10) -> Iterator[StreamChunk[EpochUpdate | TrainingComplete]]:
        loss, accuracy = 1.0, 0.5
        for epoch in range(epochs):
            time.sleep(0.5)
            loss *= 0.8
            accuracy = min(0.99, accuracy + 0.05)
            yield StreamChunk(
                data={"epoch": epoch + 1, "loss": round(loss, 4), "accuracy": round(accuracy, 4)}, is_final=False
            )
        yield StreamChunk(data={"status": "complete", "model_id": f"model_{int(time.time())}"}, is_final=True)
