"""What a tool returns or yields, as bytes for the wire: JSON by default, raw for bytes and numpy arrays.

What may not travel (value_rules.py) is refused with a serialization_error naming
where it is, e.g. ``result["a"][3]`` or ``chunk[7]["loss"]``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from snakepit_bridge.errors import CallFailure
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.typed_results import json_form
from snakepit_bridge.value_rules import (
    RAW_DTYPES,
    Refusal,
    find_part,
    integer_refusal,
    is_numpy,
    is_unsafe_integer,
    may_hold_unsafe_integer,
    numpy_refusal,
    unmasked,
)

logger = logging.getLogger(__name__)

_HINT = "yield JSON-serializable values (dict, list, str, int, float, bool, None), bytes or numpy arrays"


def is_ndarray(value: Any) -> bool:
    return is_numpy(value, "ndarray")


class _Refused(Exception):
    """Raised by the encoder's fallback for a value it met and refuses; encode_json finds its path."""

    def __init__(self, value: Any, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.value = value
        self.refusal = refusal


def _json_fallback(value: Any) -> Any:
    refusal = numpy_refusal(value)
    if refusal is not None:
        raise _Refused(value, refusal)
    if is_numpy(value, "ndarray"):
        return unmasked(value).tolist()
    if is_numpy(value, "generic"):
        return value.item()
    return json_form(value)


_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_json_fallback)
_ascii_encoder = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"), default=_json_fallback)


def _text_encoder() -> Callable[[Any], str]:
    """_encoder.encode, or the same calling the C encoder it builds for each value directly.

    For the bench's ~52-byte record, JSONEncoder.encode takes about 2.0 µs, 0.5 µs of it
    in Python before it reaches its C encoder: more than the integer check of encode_json
    costs (0.2 µs), so that small chunks are not slower for it. A fresh C encoder per
    value, as JSONEncoder builds, so that no state (the markers of circular references)
    is shared between threads or left behind by a failure. The C encoder is a detail of
    the json module: it is used only if it writes what JSONEncoder writes.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _encoder.encode

    def encode(value: Any) -> str:
        return "".join(
            make({}, _json_fallback, json.encoder.encode_basestring, None, ":", ",", False, False, False)(value, 0)
        )

    probe = {"a": [1, 2.5, None, True, "é\n", (3,)], "b": {"c": -0.0, "d": "x"}}
    try:
        if encode(probe) == _encoder.encode(probe):
            return encode
    except TypeError:
        pass
    logger.warning("json's C encoder is not what this worker expects; using JSONEncoder")
    return _encoder.encode


_encode_text = _text_encoder()


def refused(
    where: str, path: str, refusal: Refusal, *, code: str = "serialization_error", python_type: str = ""
) -> CallFailure:
    """The failure for a value that may not travel, named by where it is (e.g. result["a"][3])."""
    return CallFailure(
        code=code, message=f"{where}{path} is {refusal.reason}", hint=refusal.hint, python_type=python_type
    )


_JSON_TYPES = (dict, list, tuple, str, int, float, type(None))


def _is_unencodable(value: Any) -> bool:
    """NaN, infinities, and values JSON has no form for (numpy values aside, which the fallback turns into JSON)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    return not isinstance(value, _JSON_TYPES) and not is_numpy(value, "ndarray") and not is_numpy(value, "generic")


def _unencodable_refusal(value: Any) -> Refusal:
    if isinstance(value, float):
        return Refusal(f"the float {value}, which JSON cannot carry", "send None, or a string")
    return Refusal(f"a value of type {type(value).__qualname__}, which JSON cannot carry", _HINT)


def _root(where: str, index: int | None) -> str:
    return where if index is None else f"{where}[{index}]"


def encode_json(value: Any, where: str = "value", index: int | None = None) -> bytes:
    """The value as compact UTF-8 JSON; raises a serialization_error CallFailure naming what cannot travel.

    where (with index, for chunk[3]) names the value in messages; the path inside it follows.
    The name is built only for a message: a chunk's encoding must stay cheap.
    """
    try:
        text = _encode_text(value)
    except _Refused as error:
        offending = error.value
        found = find_part(value, lambda part: part is offending)
        raise refused(_root(where, index), found[0] if found else "", error.refusal) from None
    except (TypeError, ValueError, RecursionError) as error:
        # The C encoder cannot say where it failed; for the usual failures, a walk can.
        found = find_part(value, _is_unencodable) if not isinstance(error, RecursionError) else None
        if found is None:
            raise CallFailure(
                code="serialization_error",
                message=f"cannot encode a value of type {type(value).__qualname__} as JSON: {error}",
                python_type=type(error).__qualname__,
                hint=_HINT,
            ) from error
        raise refused(
            _root(where, index), found[0], _unencodable_refusal(found[1]), python_type=type(error).__qualname__
        ) from error
    try:
        encoded = text.encode()
    except UnicodeEncodeError:
        # Lone surrogates (JavaScript strings may hold them) have no UTF-8 form; \u escapes carry them.
        encoded = _ascii_encoder.encode(value).encode()
    if may_hold_unsafe_integer(encoded):
        found = find_part(value, is_unsafe_integer)
        if found is not None:
            raise refused(_root(where, index), found[0], integer_refusal(found[1]))
    return encoded


@dataclass(frozen=True)
class BinaryPayload:
    encoding: pb.Encoding
    data: bytes
    dtype: str = ""
    shape: tuple[int, ...] = ()


# The usual chunks: nothing to look for in them here.
_PLAIN_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})


def encode_binary(value: Any, where: str = "value", index: int | None = None) -> BinaryPayload | None:
    """The raw form of bytes-like values and numpy arrays; None for anything that travels as JSON."""
    if type(value) in _PLAIN_TYPES:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return BinaryPayload(pb.ENCODING_BYTES, bytes(value))
    if not is_ndarray(value):
        return None
    refusal = numpy_refusal(value)
    if refusal is not None:
        raise refused(_root(where, index), "", refusal)
    array = unmasked(value)
    if array.dtype.name not in RAW_DTYPES:
        return None
    little_endian = array.astype(array.dtype.newbyteorder("<"), copy=False)
    # tobytes() copies: the tool may reuse its array once it has yielded it.
    return BinaryPayload(pb.ENCODING_NDARRAY, little_endian.tobytes(order="C"), array.dtype.name, tuple(array.shape))
