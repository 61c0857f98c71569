"""Keyword arguments as the worker reads them: a JSON object, held to the rules of value_rules.py.

The bridge server relays its clients' bytes unchanged, so the worker checks them itself.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from snakepit_bridge.encoding import refused
from snakepit_bridge.errors import CallFailure
from snakepit_bridge.value_rules import Refusal, find_part, integer_refusal, is_unsafe_integer, may_hold_unsafe_integer

_INTEGER_HINT = "pass it as a string and convert it in the tool, or as a float if rounding is acceptable"
_FINITE_HINT = "send finite numbers; JSON has no NaN or infinities (send null, or a string, and convert it in the tool)"

# Python's json reads NaN and Infinity, which JSON has not, and a float too large for a double as inf.
# Only text holding such a word, an exponent of three digits or sixteen digits in a row can hold one.
_MAY_BE_NON_FINITE = re.compile(rb"NaN|Infinity|[eE][+-]?[0-9]{3}")


class _NonFinite:
    """A number literal that is no finite float, kept as written for its message; found by its path."""

    def __init__(self, literal: str, reason: str) -> None:
        self.refusal = Refusal(f"{literal if len(literal) <= 40 else literal[:20] + '…'}, {reason}", _FINITE_HINT)


def _constant(literal: str) -> _NonFinite:
    return _NonFinite(literal, "which JSON cannot represent")


def _float(literal: str) -> float | _NonFinite:
    value = float(literal)
    if math.isinf(value):
        return _NonFinite(literal, f"beyond the largest float: it would arrive as {value}")
    return value


def _integer(literal: str) -> int | float:
    # A Python int has no sign for zero; JSON's -0 has, and a float keeps it.
    return -0.0 if literal == "-0" else int(literal)


def _parse(raw: bytes) -> Any:
    # Plain json.loads for the usual arguments; the slower checks only where they may matter.
    negative_zero = b"-0" in raw
    unsafe_integer = may_hold_unsafe_integer(raw)
    non_finite = unsafe_integer or _MAY_BE_NON_FINITE.search(raw) is not None
    if not negative_zero and not non_finite:
        return json.loads(raw)
    value = json.loads(raw, parse_int=_integer if negative_zero else None, parse_float=_float, parse_constant=_constant)
    found = find_part(value, lambda part: isinstance(part, _NonFinite)) if non_finite else None
    if found is not None:
        raise refused("arguments", found[0], found[1].refusal, code="invalid_arguments")
    found = find_part(value, is_unsafe_integer) if unsafe_integer else None
    if found is not None:
        raise refused("arguments", found[0], integer_refusal(found[1], _INTEGER_HINT), code="invalid_arguments")
    return value


def decode_arguments(raw: bytes) -> dict[str, Any]:
    """The keyword arguments a request carries (none when empty); raises invalid_arguments otherwise."""
    try:
        arguments = _parse(raw) if raw else {}
    except ValueError as error:
        raise CallFailure(code="invalid_arguments", message=f"arguments are not valid JSON: {error}") from error
    except RecursionError as error:
        # Pools refuse deep arguments before sending them (maxArgumentDepth); other clients may not.
        raise CallFailure(
            code="invalid_arguments",
            message="arguments nest objects and arrays too deep to decode",
            hint="flatten the arguments",
        ) from error
    if not isinstance(arguments, dict):
        raise CallFailure(
            code="invalid_arguments",
            message=f"arguments must be a JSON object of keyword arguments, got {type(arguments).__name__}",
        )
    return arguments
