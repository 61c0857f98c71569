"""Strings holding lone surrogates, carried through pydantic's JSON parser, which refuses them.

JavaScript strings may hold lone surrogates, and JSON.stringify writes them
as ``\\ud800`` escapes, which Python's json module reads but pydantic's
parser (jiter) refuses (pydantic-core issue 1363). Such strings are replaced
by placeholders for validation and put back afterwards; where one cannot be
put back (it went into an object pydantic built), the arguments are refused
rather than changed.
"""

from __future__ import annotations

import uuid
from typing import Any


def has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class Placeholders:
    """Stands in for each string with a lone surrogate, keys included, in a parsed JSON value."""

    def __init__(self) -> None:
        self._prefix = f"\ue000snakepit-{uuid.uuid4().hex}-"
        self._originals: dict[str, str] = {}
        self._restored = 0

    def mask(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._placeholder(value) if has_lone_surrogate(value) else value
        if isinstance(value, list):
            return [self.mask(item) for item in value]
        if isinstance(value, dict):
            return {self.mask(key): self.mask(item) for key, item in value.items()}
        return value

    def unmask(self, value: Any) -> Any:
        """The validated value with the original strings back; ValueError if one could not be put back."""
        self._restored = 0
        restored = self.restore(value)
        if self._restored != len(self._originals):
            raise ValueError("a string holding a lone surrogate went where only a plain string can go")
        return restored

    def restore(self, value: Any) -> Any:
        """The value (a part of the masked one) with the original strings back where they can go."""
        return self._unmask(value)

    def _placeholder(self, original: str) -> str:
        placeholder = f"{self._prefix}{len(self._originals)}\ue001"
        self._originals[placeholder] = original
        return placeholder

    def _unmask(self, value: Any) -> Any:
        if isinstance(value, str):
            original = self._originals.get(value)
            if original is None:
                return value
            self._restored += 1
            return original
        if isinstance(value, list):
            return [self._unmask(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self._unmask(item) for item in value)
        if isinstance(value, (set, frozenset)):
            return type(value)(self._unmask(item) for item in value)
        if isinstance(value, dict):
            return {self._unmask(key): self._unmask(item) for key, item in value.items()}
        return value
