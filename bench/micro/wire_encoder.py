"""Encoding one ChunkBatch of one 1 MiB chunk: by hand (snakepit_bridge.wire) against the protobuf runtime.

wire.py exists because building ToolChunk and ChunkBatch messages and serializing
them copies a chunk's data several times; this measures whether that still holds
for the protobuf release installed. Both paths start from the chunk's bytes and
end with the serialized message, and must produce the same bytes.

Prints one JSON object: the microseconds of every run of each path, in order.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable

from google.protobuf import __version__ as protobuf_version
from google.protobuf.internal import api_implementation
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.wire import ChunkBatchBuilder, OutgoingChunk

CHUNK_BYTES = 1 << 20
CHUNK_ID = "call-1-0"


def by_hand(data: bytes) -> bytes:
    chunk = OutgoingChunk(CHUNK_ID, data, pb.ENCODING_BYTES)
    batch = ChunkBatchBuilder(max_bytes=4 * CHUNK_BYTES)
    batch.add(chunk, chunk.wire_size)
    return batch.build()


def through_runtime(data: bytes) -> bytes:
    chunk = pb.ToolChunk(chunk_id=CHUNK_ID, data=data, encoding=pb.ENCODING_BYTES)
    return pb.ChunkBatch(chunks=[chunk]).SerializeToString()


def measure(encode: Callable[[bytes], bytes], data: bytes, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        encode(data)
        samples.append((time.perf_counter_ns() - started) / 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    data = os.urandom(CHUNK_BYTES)
    if by_hand(data) != through_runtime(data):
        print("the two encodings differ", file=sys.stderr)
        return 1
    paths = {"hand": by_hand, "runtime": through_runtime}
    samples: dict[str, list[float]] = {name: [] for name in paths}
    # Warm up, then take turns, so that a slow moment of the machine hits both paths alike.
    for encode in paths.values():
        measure(encode, data, 20)
    for _ in range(args.runs // 10):
        for name, encode in paths.items():
            samples[name] += measure(encode, data, 10)
    print(json.dumps({"microseconds": samples, "protobuf": f"{protobuf_version} ({api_implementation.Type()})"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
