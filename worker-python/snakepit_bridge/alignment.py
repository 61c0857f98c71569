"""Zero padding that lets Node view a numpy buffer as a typed array where it lies in the message.

The counterpart of lib/contract/alignment.ts; spec/shared-tables.spec.ts checks that both give the
same padding.

A Float64Array over a message buffer needs its data at an offset divisible
by 8. grpc-js hands each message to its deserializer 5 bytes into a buffer
that starts 8-aligned (after the gRPC frame header), so data must sit at an
offset of 3 modulo 8 within the message. The padding field comes first in
the message (field 1), and protobuf writes fields in field-number order, so
its length moves everything after it. Without the padding, Node copies the
array instead: still correct, only slower.
"""

from __future__ import annotations

from collections.abc import Iterable

from snakepit_bridge.proto import bridge_pb2 as pb

RECEIVER_OFFSET = 5
_ALIGNMENT = 8
# Encodings whose data a reader views in place (typed arrays, Arrow buffers), and so aligns.
_VIEWED = frozenset({pb.ENCODING_NDARRAY, pb.ENCODING_ARROW_TABLE, pb.ENCODING_ARROW_RECORD_BATCH})


def needs_alignment(encoding: int) -> bool:
    return encoding in _VIEWED


def varint_size(value: int) -> int:
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size


def _length_delimited_size(length: int) -> int:
    """Bytes taken by a field numbered below 16 holding `length` bytes: tag, length, payload."""
    return 1 + varint_size(length) + length


def alignment_padding(offset_after_padding: int) -> bytes:
    """The zero bytes for a message's padding field (field 1, written first) that put what lies
    at `offset_after_padding` without it at an aligned offset once the receiver has the message."""
    for length in range(_ALIGNMENT + 3):
        field = _length_delimited_size(length) if length else 0
        if (RECEIVER_OFFSET + field + offset_after_padding) % _ALIGNMENT == 0:
            return bytes(length)
    raise AssertionError("a padding of up to 10 bytes reaches every residue")


def aligned_response(response: pb.ExecuteToolResponse) -> pb.ExecuteToolResponse:
    """The response with its padding fields set: its result's, and each attachment's."""
    if needs_alignment(response.encoding):
        response.padding = alignment_padding(1 + varint_size(len(response.result)))
    align_attachments(response.ByteSize() - sum(_field_size(a) for a in response.attachments), response.attachments)
    return response


def _field_size(attachment: pb.Attachment) -> int:
    size = attachment.ByteSize()
    return 1 + varint_size(size) + size


def align_attachments(offset: int, attachments: Iterable[pb.Attachment]) -> None:
    """Sets the padding of each attachment of a message, the first of which starts ``offset`` bytes into it
    (attachments have the highest field number of their messages, so they come last)."""
    for attachment in attachments:
        attachment.padding = b""
        if needs_alignment(attachment.encoding):
            unpadded = attachment.ByteSize()
            data_head = 1 + varint_size(len(attachment.data))
            for length in range(_ALIGNMENT + 3):
                field = 1 + varint_size(length) + length if length else 0
                data_at = offset + 1 + varint_size(unpadded + field) + field + data_head
                if (RECEIVER_OFFSET + data_at) % _ALIGNMENT == 0:
                    attachment.padding = bytes(length)
                    break
        offset += _field_size(attachment)
