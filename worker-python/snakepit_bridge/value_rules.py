"""Which values may travel, and why the others are refused: nothing may arrive as a value it was not.

- A JSON integer beyond ±(2^53-1) would be rounded by JavaScript's numbers: refused,
  wherever it is (a chunk, a result, an argument), and named by its path.
- numpy arrays travel raw when Node can view their dtype as a typed array, as JSON
  lists when their items are plain numbers (float16), and are refused otherwise:
  structured arrays would lose their field names, long doubles their precision,
  masked arrays their mask.

These are the rules any encoder of the worker must keep (the pytest tables in
tests/test_value_rules.py hold it to them).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from snakepit_bridge.typed_results import json_form

SAFE_INTEGER = 2**53 - 1

# dtypes whose buffer Node can view as a typed array.
RAW_DTYPES = frozenset(
    {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"}
)

# A JSON text can only hold an integer beyond 2^53 where it has 16 digits in a row. Mapping
# every byte to '9' (a digit) or ' ' and searching for sixteen '9's costs a few hundred
# nanoseconds for a small chunk, a tenth of encoding it; a regular expression costs twice that.
_DIGITS = bytes(0x39 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_SIXTEEN_DIGITS = b"9" * 16


def may_hold_unsafe_integer(encoded: bytes) -> bool:
    """False when the JSON text certainly holds no integer beyond ±(2^53-1); True when it may."""
    return _SIXTEEN_DIGITS in encoded.translate(_DIGITS)


@dataclass(frozen=True)
class Refusal:
    """Why a value cannot travel (it reads after the value's path), and what to send instead."""

    reason: str
    hint: str


class Refused(Exception):
    """Raised from an encoder's hook for a value it met and refuses; the encoder finds its path."""

    def __init__(self, value: Any, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.value = value
        self.refusal = refusal


def integer_refusal(
    value: int, hint: str = "send it as a string (str(n)), or as a float (float(n)) if rounding is acceptable"
) -> Refusal:
    digits = str(value)
    shown = digits if len(digits) <= 40 else f"{digits[:20]}… ({len(digits.lstrip('-'))} digits)"
    return Refusal(f"the integer {shown}, beyond ±(2^53-1): JavaScript's numbers cannot hold it exactly", hint)


def is_unsafe_integer(value: Any) -> bool:
    return type(value) is not bool and isinstance(value, int) and not -SAFE_INTEGER <= value <= SAFE_INTEGER


def _numpy() -> Any:
    # numpy is never imported here: a value can only be a numpy object if the tool imported numpy.
    return sys.modules.get("numpy")


def is_numpy(value: Any, kind: str) -> bool:
    numpy = _numpy()
    return numpy is not None and isinstance(value, getattr(numpy, kind))


def _dtype_refusal(dtype: Any, what: str) -> Refusal | None:
    """Why numpy values of this dtype cannot travel; None when they can."""
    kind = dtype.kind
    if kind == "V":
        return Refusal(
            f"{what} of the structured dtype {dtype}: its field names would be lost",
            "send a dict of arrays, {name: arr[name] for name in arr.dtype.names}",
        )
    if kind == "f" and dtype.itemsize > 8:
        return Refusal(
            f"{what} of dtype {dtype.name} (long double): it holds more precision than JavaScript's numbers",
            "convert it with .astype(numpy.float64) if rounding is acceptable",
        )
    if kind == "c":
        return Refusal(
            f"{what} of dtype {dtype.name}: complex numbers have no JSON or typed-array form",
            "send the real and imaginary parts (.real, .imag) separately",
        )
    if kind in "Mm":
        return Refusal(
            f"{what} of dtype {dtype}: JavaScript has no matching type",
            "send milliseconds since the epoch (.astype('datetime64[ms]').astype('int64')) "
            "or ISO strings (numpy.datetime_as_string)",
        )
    if kind in "OUS":
        return Refusal(
            f"{what} of dtype {dtype}: Node has no typed array for it",
            "send .tolist() to send its items as JSON values",
        )
    return None


def numpy_refusal(value: Any) -> Refusal | None:
    """Why a numpy array or scalar cannot travel; None when it can (or is not a numpy value)."""
    numpy = _numpy()
    if numpy is None:
        return None
    if isinstance(value, numpy.ma.MaskedArray):
        if value is numpy.ma.masked:
            return Refusal(
                "numpy.ma.masked, a masked entry: it has no value to send",
                "fill masked entries first (.filled(value)), or send None for them",
            )
        masked = int(numpy.ma.getmaskarray(value).sum())
        if masked:
            return Refusal(
                f"a numpy masked array with {masked} masked entr{'y' if masked == 1 else 'ies'}: its mask cannot travel",
                "send .filled(value) and .mask as two arrays, or .tolist() for None in place of masked entries",
            )
    if isinstance(value, numpy.ndarray):
        return _dtype_refusal(value.dtype, "a numpy array")
    if isinstance(value, numpy.generic):
        return _dtype_refusal(value.dtype, "a numpy scalar")
    return None


def unmasked(value: Any) -> Any:
    """A masked array that masks nothing is its data; anything else is itself."""
    numpy = _numpy()
    return value.data if numpy is not None and isinstance(value, numpy.ma.MaskedArray) else value


def _key_text(key: Any) -> str | None:
    """The text JSON's encoders write for a dict key; None for a key they cannot write."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool):
        return json.dumps(key)
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float) and math.isfinite(key):
        return float.__repr__(key)
    return None


def key_refusal(value: Any) -> Refusal | None:
    """Why a dict's keys cannot travel; None when they can (or it is not a dict).

    JSON's keys are strings, and the encoders write int, float, bool and None keys as text: two keys
    that would read the same (1 and "1") would arrive as one, the value of the first lost.
    """
    if not isinstance(value, dict) or _has_str_keys(value):
        return None
    written: dict[str, Any] = {}
    for key in value:
        text = _key_text(key)
        if text is None:
            return Refusal(
                f"a dict with the key {key!r} of type {type(key).__qualname__}, which JSON cannot write as a key",
                "use str keys (or int, float, bool and None ones, written as text)",
            )
        if text in written:
            return Refusal(
                f"a dict whose keys {written[text]!r} and {key!r} are both written {json.dumps(text)} in JSON: "
                "one value would be lost",
                "give the dict keys that differ as text",
            )
        written[text] = key
    return None


def holds_non_str_key(value: Any, opaque: Callable[[Any], bool] | None) -> bool:
    """Whether a dict in the value has a key that is not a str."""
    return holds_part(value, opaque, _has_non_str_key, dict_ok=_has_str_keys)


def _has_str_keys(value: dict[Any, Any]) -> bool:
    return _STR_ONLY.issuperset(map(type, value))


def _has_non_str_key(value: Any) -> bool:
    return isinstance(value, dict) and not _has_str_keys(value)


_STR_ONLY = frozenset({str})


def holds_part(
    value: Any,
    opaque: Callable[[Any], bool] | None,
    matches: Callable[[Any], bool],
    *,
    float_ok: Callable[[float], bool] | None = None,
    dict_ok: Callable[[dict[Any, Any]], bool] | None = None,
) -> bool:
    """Whether ``find_part(value, matches, opaque)`` would find a part, faster: dicts, lists and tuples, most
    of a value, are walked here, without paths, each float and dict checked by ``float_ok`` and ``dict_ok``
    (what ``matches`` says of them, inverted: C functions such as math.isfinite, where they can be), and the
    other parts (numpy values, dataclasses) by find_part, which knows what the encoders write for them."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is float:
            if float_ok is not None and not float_ok(item):
                return True
        elif kind is dict:
            if dict_ok is not None and not dict_ok(item):
                return True
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        elif kind not in _LEAVES and find_part(item, matches, opaque) is not None:
            return True
    return False


_LEAVES = frozenset({str, int, bool, type(None)})


def _children(value: Any) -> Iterator[tuple[str, Any]]:
    """What the JSON encoder writes inside a value, with each part's path step, in the same order."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"[{json.dumps(key if isinstance(key, str) else str(key), ensure_ascii=False)}]", item
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield f"[{index}]", item
    elif is_numpy(value, "ndarray") and numpy_refusal(value) is None:
        yield from _children(unmasked(value).tolist())
    elif is_numpy(value, "generic") and numpy_refusal(value) is None:
        item = value.item()
        if isinstance(item, (int, float)):
            yield "", item
    elif not isinstance(value, _SCALARS):
        # A dataclass, a model, a set...: what the encoder writes for it (typed_results.json_form).
        try:
            form = json_form(value)
        except TypeError:
            return
        yield "", form


_SCALARS = (str, int, float, bool, type(None), bytes, bytearray, memoryview)


def find_part(
    value: Any, matches: Callable[[Any], bool], opaque: Callable[[Any], bool] | None = None
) -> tuple[str, Any] | None:
    """The first part of value, in the encoder's order, that matches, with its path (like ["a"][3]); or None.

    Parts for which ``opaque`` holds are not looked into (arrays that travel raw, as attachments).
    """
    stack: list[tuple[str, Any]] = [("", value)]
    # Holding each one keeps its id from being reused by another (json_form makes new objects).
    seen: dict[int, Any] = {}
    while stack:
        path, item = stack.pop()
        if matches(item):
            return path, item
        if opaque is not None and opaque(item):
            continue
        if not isinstance(item, _SCALARS):
            # Each container once: a structure that refers back to itself is walked to its end.
            if id(item) in seen:
                continue
            seen[id(item)] = item
        stack.extend(reversed([(path + step, child) for step, child in _children(item)]))
    return None
