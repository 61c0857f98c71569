"""Keyword arguments as the worker reads them: a JSON object, held to the rules of value_rules.py.

The bridge server relays its clients' bytes unchanged, so the worker checks them itself.
"""

from __future__ import annotations

import json
from typing import Any

from snakepit_bridge.encoding import refused
from snakepit_bridge.errors import CallFailure
from snakepit_bridge.value_rules import find_part, integer_refusal, is_unsafe_integer, may_hold_unsafe_integer

_INTEGER_HINT = "pass it as a string and convert it in the tool, or as a float if rounding is acceptable"


def _integer(literal: str) -> int | float:
    # A Python int has no sign for zero; JSON's -0 has, and a float keeps it.
    return -0.0 if literal == "-0" else int(literal)


def _parse(raw: bytes) -> Any:
    # Plain json.loads for the usual arguments; the slower checks only where they may matter.
    negative_zero = b"-0" in raw
    unsafe_integer = may_hold_unsafe_integer(raw)
    if not negative_zero and not unsafe_integer:
        return json.loads(raw)
    value = json.loads(raw, parse_int=_integer if negative_zero else None)
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
