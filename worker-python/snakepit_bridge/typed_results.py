"""Results of the kinds a tool's annotations describe but JSON has no form for, in the form their schema says.

A tool annotated ``-> Point`` (a dataclass), ``-> Color`` (an Enum) or
``-> datetime`` is described by pydantic's serialization schema: an object,
the enum's values, an ISO 8601 string. The encoder gives such values that form.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import sys
import uuid


def json_form(value: object) -> object:
    """The value as JSON-ready Python values (one level deep); TypeError for a kind that has no JSON form.

    Sets stay refused: their order is arbitrary, so a list would say more than the set did.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    # pydantic is never imported here: a value can only be a model if the tool imported pydantic.
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"Object of type {type(value).__qualname__} is not JSON serializable")
