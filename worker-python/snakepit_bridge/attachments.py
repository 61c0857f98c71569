"""Binary values (bytes, numpy arrays, Arrow data) as they travel: raw, beside the JSON they sit in.

A chunk such as ``{"epoch": 3, "weights": <float32 array>}`` is JSON with the
array's place held by a placeholder string, and the array's buffer as an
``Attachment`` of the message (proto/bridge.proto). The encoders call
``AttachmentCollector`` as their ``default`` hook, which orjson and the
standard library call only for values they cannot write themselves: a chunk
without binary values pays nothing for it.

Placeholders are found by value, not by position: Node walks the decoded JSON
of a chunk that has attachments and replaces each string equal to one of the
placeholders. That walk is cheaper than any position the encoders could
report (neither tells where it is in the value when it calls the hook), and
it touches only chunks with attachments. So that no string of the tool's can
be taken for a placeholder, each holds a random part, and the encoded text is
checked to hold each placeholder exactly once (``check_placeholders``); in the
unlikely event that a tool's string matches, the value is encoded again with
a fresh random part.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from snakepit_bridge.arrow_values import arrow_payload, is_arrow
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.value_rules import RAW_DTYPES, Refused, is_numpy, numpy_refusal, unmasked


@dataclass(frozen=True, slots=True)
class BinaryPayload:
    """A binary value's bytes and how to read them: bytes, a numpy buffer (dtype, shape), or Arrow IPC."""

    encoding: pb.Encoding
    data: bytes
    dtype: str = ""
    shape: tuple[int, ...] = ()


def binary_payload(value: Any) -> BinaryPayload | None:
    """The raw form of bytes-like values, numpy arrays of a dtype Node can view, and Arrow data; else None.

    Raises Refused for a numpy array that may not travel at all (value_rules.py).
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return BinaryPayload(pb.ENCODING_BYTES, bytes(value))
    if is_numpy(value, "ndarray"):
        refusal = numpy_refusal(value)
        if refusal is not None:
            raise Refused(value, refusal)
        array = unmasked(value)
        if array.dtype.name not in RAW_DTYPES:
            return None
        little_endian = array.astype(array.dtype.newbyteorder("<"), copy=False)
        # tobytes() copies: the tool may change its array once it has yielded it.
        return BinaryPayload(pb.ENCODING_NDARRAY, little_endian.tobytes(order="C"), array.dtype.name, array.shape)
    arrow = arrow_payload(value)
    if arrow is not None:
        return BinaryPayload(arrow[0], arrow[1])
    return None


def travels_raw(value: Any) -> bool:
    """Whether an attachment carries the value (so that walks for JSON's rules need not look into it)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return True
    if is_numpy(value, "ndarray"):
        return numpy_refusal(value) is None and unmasked(value).dtype.name in RAW_DTYPES
    return is_arrow(value)


@dataclass(frozen=True, slots=True)
class Attachment:
    payload: BinaryPayload
    placeholder: str
    # The chunk it belongs to, counted from the first chunk of its batch (ChunkBatch only).
    chunk: int = 0

    def in_chunk(self, chunk: int) -> Attachment:
        return Attachment(self.payload, self.placeholder, chunk)


_marker = ""


def _new_marker() -> str:
    global _marker
    _marker = f"\0snakepit-attachment:{secrets.token_hex(8)}:"
    return _marker


_new_marker()


class AttachmentCollector:
    """The encoders' ``default`` hook for binary values: each becomes an attachment, and its placeholder
    goes into the JSON. Other values get their JSON form from ``fallback``."""

    def __init__(self, fallback: Any) -> None:
        self.attachments: list[Attachment] = []
        self._fallback = fallback
        self._marker = _marker

    def __call__(self, value: Any) -> Any:
        payload = binary_payload(value)
        if payload is None:
            return self._fallback(value)
        placeholder = f"{self._marker}{len(self.attachments)}"
        self.attachments.append(Attachment(payload, placeholder))
        return placeholder

    def truncate(self, count: int) -> None:
        """Forgets the attachments collected after the first ``count`` (an encoding that failed half way)."""
        del self.attachments[count:]

    def check_placeholders(self, encoded: bytes, since: int = 0) -> bool:
        """True when the encoded text holds the placeholder of each attachment from ``since`` on exactly
        once and no other string starting like them; False when a value of the tool's does, after which
        the collector has a fresh marker and the value must be encoded again."""
        if len(self.attachments) == since:
            return True
        # Both encoders write the NUL that starts the marker as \u0000.
        written = ("\\u0000" + self._marker[1:]).encode()
        if encoded.count(written) == len(self.attachments) - since:
            return True
        self._marker = _new_marker()
        self.truncate(since)
        return False
