"""What a tool returns or yields, as bytes for the wire: JSON by default, raw for bytes and numpy arrays."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from snakepit_bridge.errors import CallFailure
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.typed_results import json_form

# dtypes whose buffer Node can view as a typed array; other arrays travel as JSON lists.
_RAW_DTYPES = frozenset(
    {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"}
)


def _is_numpy(value: Any, kind: str) -> bool:
    # numpy is never imported here: a value can only be a numpy object if the tool imported numpy.
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, getattr(numpy, kind))


def is_ndarray(value: Any) -> bool:
    return _is_numpy(value, "ndarray")


def _json_fallback(value: Any) -> Any:
    if _is_numpy(value, "ndarray"):
        return value.tolist()
    if _is_numpy(value, "generic"):
        return value.item()
    return json_form(value)


_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_json_fallback)
_ascii_encoder = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"), default=_json_fallback)


def encode_json(value: Any) -> bytes:
    """The value as compact UTF-8 JSON; raises a serialization_error CallFailure naming what cannot be encoded."""
    try:
        text = _encoder.encode(value)
    except (TypeError, ValueError, RecursionError) as error:
        raise CallFailure(
            code="serialization_error",
            message=f"cannot encode a value of type {type(value).__qualname__} as JSON: {error}",
            python_type=type(error).__qualname__,
            hint="yield JSON-serializable values (dict, list, str, int, float, bool, None), bytes or numpy arrays",
        ) from error
    try:
        return text.encode()
    except UnicodeEncodeError:
        # Lone surrogates (JavaScript strings may hold them) have no UTF-8 form; \u escapes carry them.
        return _ascii_encoder.encode(value).encode()


@dataclass(frozen=True)
class BinaryPayload:
    encoding: pb.Encoding
    data: bytes
    dtype: str = ""
    shape: tuple[int, ...] = ()


def encode_binary(value: Any) -> BinaryPayload | None:
    """The raw form of bytes-like values and numpy arrays; None for anything that travels as JSON."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return BinaryPayload(pb.ENCODING_BYTES, bytes(value))
    if _is_numpy(value, "ndarray") and value.dtype.name in _RAW_DTYPES:
        little_endian = value.astype(value.dtype.newbyteorder("<"), copy=False)
        # tobytes() copies: the tool may reuse its array once it has yielded it.
        return BinaryPayload(
            pb.ENCODING_NDARRAY, little_endian.tobytes(order="C"), value.dtype.name, tuple(value.shape)
        )
    return None
