"""The payloads of the benchmark's workloads, shared by every path so that each carries the same bytes.

Pure Python on purpose: the plain grpcio baseline, the NDJSON producer and the
snakepit-rx bench adapter all import it, and none of them may pay for an
import the others do not.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

# snakepit-rx encodes JSON compactly; the baselines use the same separators so that
# every path moves the same ~52-byte chunks.
JSON_SEPARATORS = (",", ":")

_blocks: dict[int, bytes] = {}


def small_record(seq: int) -> dict[str, Any]:
    return {"seq": seq, "value": 0.123456789, "label": f"item-{seq:06d}"}


# One encoder, built once: json.dumps with non-default separators would build one per call,
# a cost snakepit-rx's worker does not pay either.
_encoder = json.JSONEncoder(separators=JSON_SEPARATORS)


def encode_json_text(value: Any) -> str:
    return _encoder.encode(value)


def encode_json(value: Any) -> bytes:
    return _encoder.encode(value).encode()


def binary_block(size: int) -> bytes:
    """One immutable block per size, built once: the benchmark measures moving bytes, not making them."""
    block = _blocks.get(size)
    if block is None:
        pattern = bytes(range(256))
        block = (pattern * (size // 256 + 1))[:size]
        _blocks[size] = block
    return block


def write_stamp(path: str, wall_clock: bool = False) -> None:
    """Records time.monotonic_ns() (or, for a reader in a browser, time.time_ns()) in `path`, renamed into place so that a reader never sees half a number."""
    stamp = time.time_ns() if wall_clock else time.monotonic_ns()
    partial = f"{path}.partial"
    with open(partial, "w", encoding="ascii") as file:
        file.write(str(stamp))
    os.replace(partial, path)
