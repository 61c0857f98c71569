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
anywhere else (a ``str`` parameter, a model's field, a dict's key) is refused
with ``invalid_arguments`` naming where it is: nothing reaches a tool as
something else than what was sent, and nothing sent is dropped.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from snakepit_bridge.errors import CallFailure
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.value_rules import RAW_DTYPES, find_part, is_numpy

# The key of pydantic's validation context under which the validators find a call's binary arguments.
CONTEXT_KEY = "snakepit_binary_arguments"
# NPY_MAXDIMS of numpy 2 (32 before): beyond it, reshape fails.
_NUMPY_MAX_DIMENSIONS = 64


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
    if len(shape) > _NUMPY_MAX_DIMENSIONS:
        raise _invalid(f"an array argument of {len(shape)} dimensions, over numpy's {_NUMPY_MAX_DIMENSIONS}")
    count = 1
    for size in shape:
        count *= size
    if count * dtype.itemsize != len(attachment.data):
        raise _invalid(
            f"an array argument of shape {list(shape)} and dtype {dtype_name} has {len(attachment.data)} bytes"
        )
    try:
        array = numpy.frombuffer(attachment.data, dtype=dtype).reshape(shape)
    except ValueError as error:  # sizes whose product numpy cannot hold, though one of them is 0
        raise _invalid(f"numpy cannot make an array of shape {list(shape)}: {error}") from None
    # A copy in native order that the tool may change: the request's bytes are read-only.
    return array.astype(dtype.newbyteorder("="))


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


def binaries_of(context: object) -> BinaryArguments | None:
    """The call's binary arguments, from a validator's context (None when the call has none)."""
    if not isinstance(context, dict):
        return None
    binaries = context.get(CONTEXT_KEY)
    return binaries if isinstance(binaries, BinaryArguments) else None


def put_in_place(value: Any, binaries: Mapping[str, object], placed: set[str] | None = None) -> Any:
    """The value (of an ``Any`` parameter) with each placeholder string replaced by its binary value, and
    added to ``placed``."""
    if isinstance(value, str):
        if value not in binaries:
            return value
        if placed is not None:
            placed.add(value)
        return binaries[value]
    if isinstance(value, list):
        return [put_in_place(item, binaries, placed) for item in value]
    if isinstance(value, dict):
        return {key: put_in_place(item, binaries, placed) for key, item in value.items()}
    return value


class BinaryArguments:
    """A call's binary arguments by placeholder, and which of them validation has put in place.

    The validators that put them in place note each one, so that what none took, wherever its
    placeholder was (a ``str`` parameter, a dict's key, a model's field), is refused without
    looking through the arguments, whose arrays may hold millions of items.
    """

    def __init__(self, values: dict[str, object]) -> None:
        self._values = values
        self._placed: set[str] = set()

    def take(self, value: object, kind: type) -> object | None:
        """The binary argument that ``value`` is the placeholder of, noted as put in place if it is a ``kind``;
        None when ``value`` is no placeholder."""
        if not isinstance(value, str) or value not in self._values:
            return None
        attached = self._values[value]
        if isinstance(attached, kind):
            self._placed.add(value)
        return attached

    def put_in_place(self, value: Any) -> Any:
        """The value (of an ``Any`` parameter) with each placeholder string replaced by its binary value."""
        return put_in_place(value, self._values, self._placed)

    def refuse_unplaced(self, arguments: dict[str, object], *, may_keep_placeholders: bool) -> None:
        """Raises invalid_arguments unless validation put every binary argument in place.

        ``may_keep_placeholders``: a union of the signature has a member that takes binary arguments;
        pydantic may try that member, which notes one as put in place, and choose another, which keeps
        its placeholder; the arguments are searched for placeholders then.
        """
        unplaced = self._values.keys() - self._placed
        if unplaced or may_keep_placeholders:
            self._refuse_placeholder_in(arguments)
        if unplaced:
            raise _invalid(
                f"{self._kind(min(unplaced))} sent as a binary argument has no place in the arguments: "
                "its placeholder is where they take no binary value",
                _HINT,
            )

    def _refuse_placeholder_in(self, arguments: dict[str, object]) -> None:
        """Raises invalid_arguments naming where a placeholder is left in the arguments, if one is."""
        written = {placeholder.encode(): placeholder for placeholder in self._values}

        def placeholder_of(part: Any) -> str | None:
            if isinstance(part, str):
                return part if part in self._values else None
            if isinstance(part, bytes):
                # A model's own bytes field takes the placeholder's text as the bytes.
                return written.get(part)
            if isinstance(part, dict):
                return next((key for key in part if isinstance(key, str) and key in self._values), None)
            return None

        found = find_part(arguments, lambda part: placeholder_of(part) is not None, _is_array)
        if found is None:
            return
        path, part = found
        placeholder = placeholder_of(part)
        assert placeholder is not None
        kind = self._kind(placeholder)
        if isinstance(part, dict):
            raise _invalid(f"a key of arguments{path} is {kind}: a dict's keys are text", _HINT)
        raise _invalid(f"arguments{path} is {kind}, which its annotation does not take", _HINT)

    def described(self) -> dict[str, str]:
        """How a message shows each binary argument, by placeholder: as what the caller sent (``bytes (length
        3)``, ``an array (float32, shape [2, 3])``), the placeholder being nothing they wrote."""
        return {placeholder: _described(value) for placeholder, value in self._values.items()}

    def _kind(self, placeholder: str) -> str:
        return "bytes" if isinstance(self._values[placeholder], bytes) else "an array"


def _described(value: Any) -> str:
    if isinstance(value, bytes):
        return f"bytes (length {len(value)})"
    return f"an array ({value.dtype}, shape {list(value.shape)})"


_HINT = "annotate the parameter bytes, a numpy array or Any, or send JSON"


def _is_array(value: object) -> bool:
    return is_numpy(value, "ndarray")
