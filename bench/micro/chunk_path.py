"""The ceiling of small JSON chunks in the worker's Python, without gRPC: how fast a chunk can be made, encoded
and buffered on this machine, step by step, for the bench's `small` tool (workload 1).

1. the bench tool's generator alone (a dict with an f-string per record);
2. the same, each record encoded as the worker encodes the usual chunk (``plain_json``: orjson and its checks);
3. the worker's ChunkPump: the generator on its pump thread, encoding and buffering, drained by a taker
   thread that accepts every run, as the gRPC handler's thread does before it builds a message.

Not a workload of `npm run bench`: the README cites it for why `pool.stream()` cannot reach a million small
chunks a second while each chunk is encoded at its yield. Prints one JSON object: chunks/s of each run, by step.
Run it with the worker's package and the bench's data on the path:

    PYTHONPATH=worker-python:bench/baseline .venv/bin/python bench/micro/chunk_path.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from snakepit_bridge.call_context import CallContext
from snakepit_bridge.chunk_pump import ChunkPump
from snakepit_bridge.encoding import plain_json
from snakepit_bridge.servicer import Limits
from workload_data import small_record

LIMITS = Limits()


def records(count: int) -> Iterator[dict[str, Any]]:
    for seq in range(count):
        yield small_record(seq)


def generator_alone(count: int) -> None:
    for _ in records(count):
        pass


def generator_and_encoding(count: int) -> None:
    for record in records(count):
        plain_json(record)


def pump(count: int) -> None:
    context = CallContext(call_id="micro", tool_name="small", session_id="")
    chunk_pump = ChunkPump(
        lambda: records(count),
        context,
        max_buffered_bytes=LIMITS.max_buffered_bytes,
        max_chunk_bytes=LIMITS.max_message_bytes,
    )
    chunk_pump.start()
    while chunk_pump.take(lambda item, size: True):
        pass
    if chunk_pump.failure is not None:
        raise RuntimeError(chunk_pump.failure.message)


def rate(step: Callable[[int], None], count: int) -> float:
    started = time.perf_counter()
    step(count)
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    steps = {"generator": generator_alone, "generator + encoding": generator_and_encoding, "pump": pump}
    rates: dict[str, list[float]] = {name: [] for name in steps}
    # Take turns, so that a slow moment of the machine hits every step alike.
    for _ in range(args.runs):
        for name, step in steps.items():
            rates[name].append(rate(step, args.count))
    print(json.dumps({"chunks_per_second": rates}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
