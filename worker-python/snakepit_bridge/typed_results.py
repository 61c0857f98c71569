"""Values JSON has no form for, given the form Snakepit gives them (and their annotations' schemas describe).

The one place that says what becomes of them, for every encoder of the worker
(orjson and the standard library's) and every path (results, chunks, host-tool
arguments):

- ``datetime``, ``date`` and ``time``: ISO 8601 strings (``isoformat()``);
- ``Decimal`` and ``UUID``: their strings;
- sets, frozensets and tuples (named tuples too): lists;
- dataclasses and pydantic models: objects of their fields;
- enums: their value.

numpy scalars become plain numbers in the encoders themselves (encoding.py),
where numpy's own rules (value_rules.py) refuse the ones that would lose
something. Anything else has no JSON form: a ``serialization_error`` names its
type and where it was.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import sys
import uuid


def json_form(value: object) -> object:
    """The value as JSON-ready Python values (one level deep); TypeError for a kind that has no JSON form."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    # pydantic is never imported here: a value can only be a model if the tool imported pydantic.
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        # Python mode, not JSON mode: pydantic's JSON mode would write NaN as null; the encoder
        # refuses it, and gives nested values the forms above.
        return value.model_dump(mode="python", by_alias=True)
    raise TypeError(f"Object of type {type(value).__qualname__} is not JSON serializable")
