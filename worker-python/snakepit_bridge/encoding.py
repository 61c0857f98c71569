"""What a tool returns or yields, as bytes for the wire: JSON, with binary values beside it.

orjson writes the JSON; where it cannot, or where it would break a rule of
value_rules.py (it writes NaN as null), the standard library's encoder
(json_stdlib.py) encodes the value instead, with the worker's rules and
messages: both give the same JSON values, and refuse the same values. What
may not travel is refused with a serialization_error naming where it is,
e.g. ``result["a"][3]`` or ``chunk[7]["loss"]``.

- ``encode_binary``: a value that is itself bytes, a numpy array or Arrow data, raw.
- ``encode_value``: JSON whose binary values (at any depth) travel as attachments.
- ``encode_json``: JSON alone, binary values refused and arrays written as lists
  (for host-tool arguments, and the value rules' tables).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from snakepit_bridge.attachments import (
    Attachment,
    AttachmentCollector,
    BinaryPayload,
    binary_payload,
    travels_raw,
)
from snakepit_bridge.errors import CallFailure
from snakepit_bridge.json_stdlib import refused, root, stdlib_encode
from snakepit_bridge.typed_results import json_form
from snakepit_bridge.value_rules import Refused, holds_part, is_numpy, numpy_refusal, unmasked

__all__ = ["BinaryPayload", "EncodedValue", "encode_binary", "encode_json", "encode_value", "is_ndarray", "refused"]

# OPT_STRICT_INTEGER refuses integers beyond ±(2^53-1); dataclasses and datetimes reach the hook, so
# that typed_results gives them the same form whichever encoder writes them.
_OPTIONS = orjson.OPT_STRICT_INTEGER | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
# A fresh random part each time; a second clash with a tool's own strings would be a miracle.
_PLACEHOLDER_ATTEMPTS = 3

Encoder = Callable[[Any, Callable[[Any], Any]], bytes | None]


def is_ndarray(value: Any) -> bool:
    return is_numpy(value, "ndarray")


def json_default(value: Any) -> Any:
    """The JSON form of what the encoders cannot write themselves; arrays as lists (JSON alone)."""
    refusal = numpy_refusal(value)
    if refusal is not None:
        raise Refused(value, refusal)
    if is_numpy(value, "ndarray"):
        return unmasked(value).tolist()
    if is_numpy(value, "generic"):
        return value.item()
    return json_form(value)


def _has_non_finite(value: Any, opaque: Callable[[Any], bool] | None) -> bool:
    """Whether a float JSON has no form for (NaN, ±infinity) is in the value, outside raw attachments."""
    return holds_part(value, opaque, _is_non_finite, float_ok=math.isfinite)


def _is_non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def orjson_encode(value: Any, default: Callable[[Any], Any]) -> bytes | None:
    """orjson's JSON of the value; None where it cannot write it, or would write NaN or infinity as null."""
    try:
        encoded = orjson.dumps(value, default, _OPTIONS)
    except orjson.JSONEncodeError:
        return None
    if encoded.find(b"null") != -1 and _has_non_finite(
        value, travels_raw if isinstance(default, AttachmentCollector) else None
    ):
        return None
    return encoded


def no_orjson(value: Any, default: Callable[[Any], Any]) -> None:
    """The encoder that never writes: only the standard library's encoder then runs (for the specs)."""
    return None


def encode_json(
    value: Any, where: str = "value", index: int | None = None, *, encoder: Encoder = orjson_encode
) -> bytes:
    """The value as compact UTF-8 JSON; raises a serialization_error CallFailure naming what cannot travel.

    where (with index, for chunk[3]) names the value in messages; the path inside it follows.
    The name is built only for a message: a chunk's encoding must stay cheap.
    """
    encoded = encoder(value, json_default)
    if encoded is None:
        encoded = stdlib_encode(value, json_default, root(where, index), None)
    return encoded


@dataclass(frozen=True, slots=True)
class EncodedValue:
    """A value as JSON, and the binary values inside it, whose placeholders the JSON holds."""

    json: bytes
    attachments: tuple[Attachment, ...] = ()


class _HasBinary(Exception):
    """Raised by the first attempt's hook at a binary value: the value needs the attachment collector."""


def _without_binaries(value: Any) -> Any:
    if travels_raw(value):
        raise _HasBinary
    return json_default(value)


def plain_json(value: Any) -> bytes | None:
    """orjson's JSON of a value that holds no binary value and breaks no rule; else None (then ``encode_value``).

    The fast path of the usual chunk: one call to orjson, and a search for "null" in its output (orjson's
    form of NaN and infinities, which are refused).
    """
    try:
        encoded = orjson.dumps(value, _without_binaries, _OPTIONS)
    except orjson.JSONEncodeError:
        return None
    # find, not `in`: bytes.__contains__ first tries the needle as an int and pays for the TypeError (0.1 µs).
    if encoded.find(b"null") != -1 and _has_non_finite(value, None):
        return None
    return encoded


def encode_value(
    value: Any, where: str = "value", index: int | None = None, *, encoder: Encoder = orjson_encode
) -> EncodedValue:
    """The value as JSON whose bytes, numpy arrays and Arrow data (at any depth) travel as attachments.

    Raises a serialization_error CallFailure naming what cannot travel, as ``encode_json`` does.
    """
    # Most values hold nothing binary: one encoding, without making a collector, for them.
    encoded = encoder(value, _without_binaries)
    if encoded is not None:
        return EncodedValue(encoded)
    collector = AttachmentCollector(json_default)
    for _ in range(_PLACEHOLDER_ATTEMPTS):
        encoded = encoder(value, collector)
        if encoded is None:
            collector.truncate(0)
            encoded = stdlib_encode(value, collector, root(where, index), travels_raw)
        if collector.check_placeholders(encoded):
            return EncodedValue(encoded, tuple(collector.attachments))
    raise CallFailure(
        code="serialization_error", message=f"{root(where, index)} holds strings that look like placeholders"
    )


# The usual values: nothing to look for in them here.
_PLAIN_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})


def encode_binary(value: Any, where: str = "value", index: int | None = None) -> BinaryPayload | None:
    """The raw form of a value that is itself bytes, a numpy array or Arrow data; None for anything else."""
    if type(value) in _PLAIN_TYPES:
        return None
    try:
        return binary_payload(value)
    except Refused as error:
        raise refused(root(where, index), "", error.refusal) from None
    except TypeError as error:
        raise CallFailure(code="serialization_error", message=f"{root(where, index)}: {error}") from error
