"""Binary arguments: bytes and arrays a client sent beside the JSON of the arguments, as attachments.

A Node caller's ``Uint8Array`` or ``Buffer`` travels as a BYTES attachment and
reaches the tool as ``bytes``; a typed array or an ``NdArray`` as an NDARRAY
attachment, and reaches it as a numpy array of that dtype and shape. In the
JSON, a placeholder string stands where the value was (proto/bridge.proto's
``Attachment``).

Validation (tool_schemas.py) puts each one in place: a parameter annotated
``bytes`` takes a BYTES attachment (or, from a JSON client, base64 text), a
numpy array parameter an NDARRAY one (or a JSON list), and ``Any`` (or no
annotation) takes either, at any depth of lists and dicts. A binary value
anywhere else (a ``str`` parameter, a model's field) is refused with
``invalid_arguments`` naming where it is: nothing reaches a tool as
something else than what was sent.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from typing import Any

from snakepit_bridge.errors import CallFailure
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.value_rules import RAW_DTYPES, find_part

# The key of pydantic's validation context under which the validators find a call's binary arguments.
CONTEXT_KEY = "snakepit_binary_arguments"


def _invalid(message: str, hint: str = "") -> CallFailure:
    return CallFailure(code="invalid_arguments", message=message, hint=hint)


def _array(attachment: pb.Attachment) -> Any:
    dtype_name = attachment.array.dtype
    if dtype_name not in RAW_DTYPES:
        raise _invalid(f"a binary argument has the dtype {dtype_name!r}, which is none of {sorted(RAW_DTYPES)}")
    try:
        numpy: Any = importlib.import_module("numpy")
    except ImportError as error:
        raise _invalid("an array argument needs numpy in the worker", "pip install numpy") from error
    dtype = numpy.dtype(dtype_name).newbyteorder("<")
    shape = tuple(attachment.array.shape)
    count = 1
    for size in shape:
        count *= size
    if count * dtype.itemsize != len(attachment.data):
        raise _invalid(
            f"an array argument of shape {list(shape)} and dtype {dtype_name} has {len(attachment.data)} bytes"
        )
    # A copy in native order that the tool may change: the request's bytes are read-only.
    return numpy.frombuffer(attachment.data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def decode_binary_arguments(attachments: Sequence[pb.Attachment]) -> dict[str, object]:
    """Each attachment's value (bytes, or a numpy array) by its placeholder; raises invalid_arguments."""
    values: dict[str, object] = {}
    for attachment in attachments:
        if attachment.encoding == pb.ENCODING_BYTES:
            value: object = attachment.data
        elif attachment.encoding == pb.ENCODING_NDARRAY:
            value = _array(attachment)
        else:
            raise _invalid("a binary argument must be bytes or an array (Uint8Array, a typed array, an NdArray)")
        if not attachment.placeholder or attachment.placeholder in values:
            raise _invalid("two binary arguments have the same placeholder, or one has none")
        values[attachment.placeholder] = value
    return values


def check_placeholders(raw: bytes, binaries: dict[str, object]) -> None:
    """Raises invalid_arguments unless the arguments' JSON holds each placeholder exactly once, as a string."""
    for placeholder in binaries:
        # JSON writes the NUL that starts a placeholder as \u0000.
        written = json.dumps(placeholder).encode()
        if raw.count(written) != 1:
            raise _invalid("a binary argument's placeholder is missing from the arguments, or there more than once")


def binaries_of(context: object) -> dict[str, object] | None:
    """The call's binary arguments, from a validator's context (None when the call has none)."""
    if not isinstance(context, dict):
        return None
    binaries = context.get(CONTEXT_KEY)
    return binaries if isinstance(binaries, dict) else None


def put_in_place(value: Any, binaries: dict[str, object]) -> Any:
    """The value (of an ``Any`` parameter) with each placeholder string replaced by its binary value."""
    if isinstance(value, str):
        return binaries.get(value, value)
    if isinstance(value, list):
        return [put_in_place(item, binaries) for item in value]
    if isinstance(value, dict):
        return {key: put_in_place(item, binaries) for key, item in value.items()}
    return value


def refuse_misplaced(arguments: dict[str, object], binaries: dict[str, object]) -> None:
    """Raises invalid_arguments when a placeholder is left in the validated arguments: a binary value went
    where its annotation takes none (a ``str``...), or a placeholder was not used at all."""
    found = find_part(arguments, lambda part: isinstance(part, str) and part in binaries)
    if found is not None:
        kind = "bytes" if isinstance(binaries[found[1]], bytes) else "an array"
        raise _invalid(
            f"arguments{found[0]} is {kind}, which its annotation does not take",
            "annotate the parameter bytes, a numpy array or Any, or send JSON",
        )
