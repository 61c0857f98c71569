"""The benchmark's tools for snakepit-rx: the same workloads as the baselines in bench/baseline/.

It inherits the guide's tools from examples/adapters/guide_adapter.py, among
them `generate_dataset`, the guide's "Chunked Dataset" example as written.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from guide_adapter import GuideAdapter
from snakepit_bridge.adapters.showcase.tool import StreamChunk
from snakepit_bridge.base_adapter import tool
from workload_data import binary_block, small_record, write_stamp


class BenchAdapter(GuideAdapter):
    @tool(description="count small JSON records", supports_streaming=True)
    def small(self, count: int) -> Iterator[dict[str, Any]]:
        for seq in range(count):
            yield small_record(seq)

    @tool(description="count small JSON records, `rate` a second", supports_streaming=True)
    def small_paced(self, count: int, rate: float) -> Iterator[dict[str, Any]]:
        interval = 1.0 / rate
        started = time.perf_counter()
        for seq in range(count):
            # Sleeps only when a millisecond ahead, below which time.sleep cannot keep time.
            ahead = started + seq * interval - time.perf_counter()
            if ahead > 0.001:
                time.sleep(ahead)
            yield small_record(seq)

    @tool(description="count binary blocks of `size` bytes", supports_streaming=True)
    def binary(self, count: int, size: int = 1 << 20) -> Iterator[bytes]:
        block = binary_block(size)
        for _ in range(count):
            yield block

    @tool(description="count records, each followed by busy_ms of Python computing", supports_streaming=True)
    def compute_after_yield(self, count: int, busy_ms: float) -> Iterator[dict[str, Any]]:
        for seq in range(count):
            yield {"seq": seq, "yielded_at": time.time()}
            until = time.perf_counter() + busy_ms / 1000.0
            while time.perf_counter() < until:
                pass

    @tool(description="one small record", supports_streaming=True)
    def first(self) -> Iterator[dict[str, Any]]:
        yield small_record(0)

    @tool(description="a trivial unary tool")
    def noop(self, value: Any = None) -> dict[str, Any]:
        return {"ok": True, "echo": value}

    @tool(description="one call of the host tool `echo`, timed in Python: the round trip to Node and back, in ms")
    def host_round_trip(self, value: Any = None) -> dict[str, Any]:
        assert self.session_context is not None
        started = time.perf_counter_ns()
        echoed = self.session_context.call_host_tool("echo", value=value)
        return {"ms": (time.perf_counter_ns() - started) / 1e6, "echo": echoed}

    @tool(description="the worker's process id")
    def pid(self) -> int:
        return os.getpid()

    @tool(description="whether OpenTelemetry is loaded in this worker")
    def opentelemetry_loaded(self) -> bool:
        return "opentelemetry" in sys.modules

    @tool(description="yields every interval_ms until cancelled; its finally stamps `path`", supports_streaming=True)
    def tick(self, path: str, interval_ms: float = 1.0, wall_clock: bool = False) -> Iterator[dict[str, Any]]:
        interval = interval_ms / 1000.0
        seq = 0
        try:
            while True:
                yield small_record(seq)
                seq += 1
                time.sleep(interval)
        finally:
            write_stamp(path, wall_clock)

    # The guide's generate_dataset with the array itself as the chunk's data instead of `.tolist()`.
    @tool(description="Generate dataset as float64 arrays", supports_streaming=True)
    def generate_dataset_array(self, rows: int = 10000, chunk_size: int = 1000) -> Iterator[StreamChunk]:
        import numpy as np

        for start in range(0, rows, chunk_size):
            yield StreamChunk(
                data=np.random.randn(min(chunk_size, rows - start), 10), is_final=start + chunk_size >= rows
            )

    # The guide's generate_dataset with each chunk a pandas DataFrame of its 10 float columns (Arrow on the wire).
    @tool(description="Generate dataset as pandas DataFrames", supports_streaming=True)
    def generate_dataset_frame(self, rows: int = 10000, chunk_size: int = 1000) -> Iterator[Any]:
        import numpy as np
        import pandas as pd

        columns = [f"c{column}" for column in range(10)]
        for start in range(0, rows, chunk_size):
            data = np.random.randn(min(chunk_size, rows - start), 10)
            yield StreamChunk(data=pd.DataFrame(data, columns=columns), is_final=start + chunk_size >= rows)

    # A training loop's chunk: a few numbers and the model's weights, a 1 MiB float32 array, as the
    # array itself (an attachment) or as JSON lists (.tolist()).
    @tool(description="count chunks of {epoch, accuracy, weights}", supports_streaming=True)
    def weights(self, count: int, as_list: bool = False) -> Iterator[dict[str, Any]]:
        import numpy as np

        weights = np.random.default_rng(0).random(1 << 18, dtype=np.float32)
        for epoch in range(count):
            yield {"epoch": epoch, "accuracy": 0.94, "weights": weights.tolist() if as_list else weights}
