"""pydantic's validation errors, reworded for a caller in another language: which argument, what was expected."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from snakepit_bridge.lone_surrogates import has_lone_surrogate
from snakepit_bridge.truncation import cut_input

# More than this many problems in one call are counted, not listed.
_MAX_LISTED = 5
_MAX_INPUT_CHARS = 40

_MISSING = frozenset({"missing", "missing_argument", "missing_keyword_only_argument"})
_UNEXPECTED = frozenset({"extra_forbidden", "unexpected_keyword_argument"})


def describe_validation_error(
    error: ValidationError,
    arguments: Mapping[str, object],
    annotations: Mapping[str, str],
    unions: frozenset[str],
    received: Callable[[object], object] = lambda value: value,
    binary_values: Mapping[str, str] | None = None,
) -> str:
    """One line naming each wrong, missing or unexpected argument and what it should be.

    ``arguments`` are the arguments as received; ``annotations`` the text of each
    parameter's annotation; ``unions`` the parameters annotated with a union,
    whose every member pydantic reports on: they are described by their annotation instead.
    ``received`` turns a value pydantic validated back into what the caller sent.
    ``binary_values``: how to show each binary argument, by the placeholder that stands for it in the JSON.
    """
    shown = _Shown(binary_values or {})
    problems: list[str] = []
    described: set[str] = set()
    others = []
    for each in error.errors(include_url=False):
        name = each["loc"][0] if each["loc"] else None
        if name in unions and name in arguments:
            if name not in described:
                described.add(name)
                problems.append(f"argument '{name}' should be {annotations[name]}, got {shown(arguments[name])}")
        else:
            others.append(each)
    problems += [_describe(problem, annotations, received, shown) for problem in _merge_union_branches(others)]
    listed = "; ".join(problems[:_MAX_LISTED])
    rest = len(problems) - _MAX_LISTED
    return f"{listed}; and {rest} more" if rest > 0 else listed


def _merge_union_branches(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """One problem per value: pydantic reports a value that fits no member of a union once per member,
    each at the value's location followed by the member's name."""
    merged: list[dict[str, Any]] = []
    for error in errors:
        location = tuple(error["loc"])
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous["union_at"] is not None
            and previous["union_at"] == location[:-1]
            and previous["input"] == error["input"]
            and error["type"] not in previous["types"]
        ):
            previous["expected"].append(_expectation(error))
            previous["types"].add(error["type"])
            continue
        union_at = location[:-1] if location and isinstance(location[-1], str) and len(location) > 1 else None
        merged.append(
            {
                "type": error["type"],
                "loc": location,
                "input": error["input"],
                "msg": error["msg"],
                "union_at": union_at,
                "expected": [_expectation(error)],
                "types": {error["type"]},
            }
        )
    for problem in merged:
        if len(problem["expected"]) > 1:
            problem["loc"] = problem["union_at"]
    return merged


# pydantic names Python's types; the caller sent JSON.
_JSON_WORDS = {
    "a valid dictionary": "an object",
    "a valid array": "an array",
    "a valid list": "an array",
    "a valid tuple": "an array",
    "a valid set": "an array",
    "a valid frozenset": "an array",
}


def _expectation(error: Any) -> str:
    message: str = error["msg"]
    for prefix in ("Input should be ", "Data should be "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
            break
    else:
        message = message[:1].lower() + message[1:]
    for python, json_word in _JSON_WORDS.items():
        message = message.replace(python, json_word)
    return message


def _describe(
    problem: dict[str, Any],
    expected: Mapping[str, str],
    received: Callable[[object], object],
    shown: Callable[[object], str],
) -> str:
    location: tuple[str | int, ...] = problem["loc"]
    path = _path(location)
    nested = len(location) > 1
    if problem["type"] in _MISSING and len(problem["expected"]) == 1:
        if nested:
            return f"argument '{path}' is missing"
        annotation = expected.get(path)
        return f"missing required argument '{path}'" + (f" ({annotation})" if annotation else "")
    if problem["type"] in _UNEXPECTED and len(problem["expected"]) == 1:
        return f"argument '{path}' is not expected" if nested else f"unexpected argument '{path}'"
    return f"argument '{path}' should be {' or '.join(problem['expected'])}, got {shown(received(problem['input']))}"


def _path(location: tuple[str | int, ...]) -> str:
    """Where an argument is, its keys (the caller's input) cut as messages quote them."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        part = cut_input(part)
        if not text:
            text = part
        elif part.isidentifier():
            text += f".{part}"
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text


class _Shown:
    """A value as a message quotes it: its JSON, cut short, each binary argument's placeholder replaced by
    what the caller sent (binary_arguments.py), since the placeholder is nothing they wrote."""

    def __init__(self, binary_values: Mapping[str, str]) -> None:
        self._binary_values = {json.dumps(placeholder): shown for placeholder, shown in binary_values.items()}

    def __call__(self, value: object) -> str:
        text = json.dumps(value, ensure_ascii=False, default=repr)
        if has_lone_surrogate(text):
            # The message travels as UTF-8, which cannot hold it; an escape can.
            text = json.dumps(value, default=repr)
        for placeholder, shown in self._binary_values.items():
            text = text.replace(placeholder, shown)
        return text if len(text) <= _MAX_INPUT_CHARS else text[: _MAX_INPUT_CHARS - 1] + "…"
