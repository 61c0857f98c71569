"""The standard library's JSON encoder, with the worker's rules: the fallback of encoding.py's orjson.

It encodes what orjson cannot (lone surrogates, dict keys that are not
strings, nesting deeper than orjson's 254 levels), and it is the one that
refuses: where orjson fails, or writes a NaN as null, this encoder runs and
names what cannot travel, and where it is.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from typing import Any

from snakepit_bridge.errors import CallFailure
from snakepit_bridge.typed_results import json_form
from snakepit_bridge.value_rules import (
    Refusal,
    Refused,
    find_part,
    holds_non_str_key,
    integer_refusal,
    is_numpy,
    is_unsafe_integer,
    key_refusal,
    may_hold_unsafe_integer,
)

logger = logging.getLogger(__name__)

HINT = "yield JSON-serializable values (dict, list, str, int, float, bool, None), bytes, numpy arrays or dataframes"

Default = Callable[[Any], Any]
_WRITE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def _text_encoder() -> Callable[[Any, Default], str]:
    """JSONEncoder's encode, or the same calling the C encoder it builds for each value directly.

    For a ~52-byte record, JSONEncoder.encode takes about 2.0 µs, 0.5 µs of it in
    Python before it reaches its C encoder. A fresh C encoder per value, as
    JSONEncoder builds, so that no state (the markers of circular references) is
    shared between threads or left behind by a failure. The C encoder is a detail
    of the json module: it is used only if it writes what JSONEncoder writes.
    """
    make = getattr(json.encoder, "c_make_encoder", None)

    def slow(value: Any, default: Default) -> str:
        return json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=default).encode(
            value
        )

    if make is None:
        return slow

    def encode(value: Any, default: Default) -> str:
        return "".join(make({}, default, json.encoder.encode_basestring, None, ":", ",", False, False, False)(value, 0))

    probe = {"a": [1, 2.5, None, True, "é\n", (3,)], "b": {"c": -0.0, "d": "x"}}
    try:
        if encode(probe, str) == _WRITE(probe):
            return encode
    except TypeError:
        pass
    logger.warning("json's C encoder is not what this worker expects; using JSONEncoder")
    return slow


_encode_text = _text_encoder()
_SURROGATE = re.compile("[\ud800-\udfff]")


def refused(
    where: str, path: str, refusal: Refusal, *, code: str = "serialization_error", python_type: str = ""
) -> CallFailure:
    """The failure for a value that may not travel, named by where it is (e.g. result["a"][3])."""
    return CallFailure(
        code=code, message=f"{where}{path} is {refusal.reason}", hint=refusal.hint, python_type=python_type
    )


def root(where: str, index: int | None) -> str:
    return where if index is None else f"{where}[{index}]"


_JSON_TYPES = (dict, list, tuple, str, int, float, type(None))


def _is_unencodable(value: Any) -> bool:
    """NaN, infinities, and values that have no JSON form (numpy values aside, which the hook turns into JSON)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, _JSON_TYPES) or is_numpy(value, "ndarray") or is_numpy(value, "generic"):
        return False
    try:
        json_form(value)
    except TypeError:
        return True
    return False


def _unencodable_refusal(value: Any) -> Refusal:
    if isinstance(value, float):
        return Refusal(f"the float {value}, which JSON cannot carry", "send None, or a string")
    return Refusal(f"a value of type {type(value).__qualname__}, which JSON cannot carry", HINT)


def _refusal_of(part: Any) -> Refusal:
    return key_refusal(part) or _unencodable_refusal(part)


def stdlib_encode(value: Any, default: Default, where: str, opaque: Callable[[Any], bool] | None) -> bytes:
    """The value as compact UTF-8 JSON; raises a serialization_error CallFailure naming what cannot travel.

    ``opaque``: parts that the hook turns into attachments, which JSON's rules do not look into.
    """
    try:
        text = _encode_text(value, default)
    except Refused as error:
        offending = error.value
        found = find_part(value, lambda part: part is offending, opaque)
        raise refused(where, found[0] if found else "", error.refusal) from None
    except (TypeError, ValueError, RecursionError) as error:
        # The C encoder cannot say where it failed; for the usual failures, a walk can.
        found = None
        if not isinstance(error, RecursionError):
            found = find_part(
                value,
                lambda part: (_is_unencodable(part) and not (opaque and opaque(part))) or key_refusal(part) is not None,
                opaque,
            )
        if found is None:
            raise CallFailure(
                code="serialization_error",
                message=f"cannot encode a value of type {type(value).__qualname__} as JSON: {error}",
                python_type=type(error).__qualname__,
                hint=HINT,
            ) from error
        raise refused(where, found[0], _refusal_of(found[1]), python_type=type(error).__qualname__) from error
    # The encoder wrote keys that are not str as text, which may have made two keys one.
    if holds_non_str_key(value, opaque):
        found = find_part(value, lambda part: key_refusal(part) is not None, opaque)
        if found is not None:
            raise refused(where, found[0], _refusal_of(found[1]))
    try:
        encoded = text.encode()
    except UnicodeEncodeError:
        # Lone surrogates (JavaScript strings may hold them) have no UTF-8 form; \u escapes carry them.
        # They can only be inside strings: the rest of JSON text is ASCII.
        encoded = _SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text).encode()
    if may_hold_unsafe_integer(encoded):
        found = find_part(value, is_unsafe_integer, opaque)
        if found is not None:
            raise refused(where, found[0], integer_refusal(found[1]))
    return encoded
