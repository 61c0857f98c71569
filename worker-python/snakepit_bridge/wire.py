"""ChunkBatch messages (proto/bridge.proto) written by hand, for the stream a pool reads.

Building ToolChunk and ChunkBatch objects and serializing them copies every
chunk's data three or four times, into fresh memory each time, which costs
more than the transport for large chunks. Writing the wire format directly
copies the data once, into the message. The bytes are those protobuf would
write (fields in number order), which the pytest suite checks by parsing
them back with the generated classes.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from snakepit_bridge.alignment import RECEIVER_OFFSET, alignment_padding, needs_alignment, varint_size
from snakepit_bridge.attachments import Attachment
from snakepit_bridge.encoding import EncodedValue
from snakepit_bridge.proto import bridge_pb2 as pb

# Field tags: (field number << 3) | wire type; 2 = length-delimited, 0 = varint.
_BATCH_PADDING = b"\x0a"
_BATCH_JSON_RUN = b"\x12"
_BATCH_CHUNK = b"\x1a"
_BATCH_ATTACHMENT = b"\x22"
_CHUNK_ID = b"\x0a"
_CHUNK_DATA = b"\x12"
_CHUNK_FINAL = b"\x18\x01"
_CHUNK_METADATA = b"\x22"
_CHUNK_ENCODING = b"\x28"
_CHUNK_ARRAY = b"\x32"
_ENTRY_KEY = b"\x0a"
_ENTRY_VALUE = b"\x12"
_ARRAY_DTYPE = b"\x0a"
_ARRAY_SHAPE = b"\x12"
_ATTACHMENT_PADDING = b"\x0a"
_ATTACHMENT_DATA = b"\x12"
_ATTACHMENT_ENCODING = b"\x18"
_ATTACHMENT_ARRAY = b"\x22"
_ATTACHMENT_CHUNK = b"\x28"
_ATTACHMENT_PLACEHOLDER = b"\x32"

# What an item adds to a ChunkBatch besides its own bytes: a comma in json_run, or a
# ToolChunk's field tag and length prefix (at most 1 + 5 bytes).
_JSON_RUN_SEPARATOR_BYTES = 1
_CHUNK_FRAMING_BYTES = 6


def varint(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + varint(len(payload)) + payload


def _array_info(dtype: str, shape: tuple[int, ...]) -> bytes:
    packed = b"".join(varint(size) for size in shape)
    return _field(_ARRAY_DTYPE, dtype.encode()) + (_field(_ARRAY_SHAPE, packed) if packed else b"")


def attachment_field(tag: bytes, attachment: Attachment, offset: int) -> list[bytes]:
    """An Attachment field (tag, length, message) that starts ``offset`` bytes into its message, in parts;
    its data lands at an aligned offset when it is an array or Arrow data (see alignment.py)."""
    payload = attachment.payload
    data_head = _ATTACHMENT_DATA + varint(len(payload.data))
    tail = _ATTACHMENT_ENCODING + varint(payload.encoding)
    if payload.encoding == pb.ENCODING_NDARRAY:
        tail += _field(_ATTACHMENT_ARRAY, _array_info(payload.dtype, payload.shape))
    if attachment.chunk:
        tail += _ATTACHMENT_CHUNK + varint(attachment.chunk)
    tail += _field(_ATTACHMENT_PLACEHOLDER, attachment.placeholder.encode())
    rest = len(data_head) + len(payload.data) + len(tail)
    padding = b""
    if needs_alignment(payload.encoding):
        for length in range(11):
            field = 1 + varint_size(length) + length if length else 0
            data_at = offset + len(tag) + varint_size(field + rest) + field + len(data_head)
            if (RECEIVER_OFFSET + data_at) % 8 == 0:
                padding = _field(_ATTACHMENT_PADDING, bytes(length)) if length else b""
                break
    return [tag + varint(len(padding) + rest) + padding + data_head, payload.data, tail]


def attachment_message(attachment: Attachment) -> pb.Attachment:
    """The same attachment as a generated message (unaligned), for the messages built with the generated classes."""
    payload = attachment.payload
    return pb.Attachment(
        data=payload.data,
        encoding=payload.encoding,
        array=pb.ArrayInfo(dtype=payload.dtype, shape=payload.shape) if payload.dtype else None,
        chunk=attachment.chunk,
        placeholder=attachment.placeholder,
    )


@dataclass(frozen=True, slots=True)
class OutgoingChunk:
    """A chunk that does not travel in a batch's json_run: final, with metadata, or binary."""

    chunk_id: str
    data: bytes
    encoding: pb.Encoding = pb.ENCODING_JSON
    is_final: bool = False
    metadata: Mapping[str, str] | None = None
    dtype: str = ""
    shape: tuple[int, ...] = ()
    # The binary values inside JSON data: in a batch, they travel as the batch's attachments.
    attachments: tuple[Attachment, ...] = ()

    def framing(self) -> tuple[bytes, bytes]:
        """The ToolChunk's bytes before its data (through the data's length) and after it."""
        head = (
            (_field(_CHUNK_ID, self.chunk_id.encode()) if self.chunk_id else b"") + _CHUNK_DATA + varint(len(self.data))
        )
        tail = [_CHUNK_FINAL] if self.is_final else []
        for key, value in (self.metadata or {}).items():
            tail.append(
                _field(_CHUNK_METADATA, _field(_ENTRY_KEY, key.encode()) + _field(_ENTRY_VALUE, value.encode()))
            )
        if self.encoding:
            tail.append(_CHUNK_ENCODING + varint(self.encoding))
        if self.encoding == pb.ENCODING_NDARRAY:
            tail.append(_field(_CHUNK_ARRAY, _array_info(self.dtype, self.shape)))
        return head, b"".join(tail)

    @property
    def wire_size(self) -> int:
        """Its bytes in a batch, its attachments included."""
        head, tail = self.framing()
        return len(head) + len(self.data) + len(tail) + attachments_size(self.attachments)

    def message(self) -> pb.ToolChunk:
        """The same chunk as a generated message, for the one-chunk-per-message stream."""
        chunk = pb.ToolChunk(chunk_id=self.chunk_id, data=self.data, encoding=self.encoding, is_final=self.is_final)
        chunk.metadata.update(self.metadata or {})
        if self.encoding == pb.ENCODING_NDARRAY:
            chunk.array.dtype = self.dtype
            chunk.array.shape.extend(self.shape)
        chunk.attachments.extend(attachment_message(attachment) for attachment in self.attachments)
        return chunk


# An attachment's tags, lengths, encoding, array info and placeholder around its data, at most.
_ATTACHMENT_FRAMING_BYTES = 128


def attachments_size(attachments: Sequence[Attachment]) -> int:
    """About what the attachments add to a message (for batching; never less)."""
    return sum(len(attachment.payload.data) + _ATTACHMENT_FRAMING_BYTES for attachment in attachments)


def encode_batch(
    json_items: Sequence[bytes | bytearray], chunks: list[OutgoingChunk], attachments: Sequence[Attachment] = ()
) -> bytes:
    """A serialized ChunkBatch; the data of a first array or Arrow chunk, and of array and Arrow attachments, lies where
    Node can view it in place. ``attachments`` name their chunks (counted from the batch's first)."""
    parts = [_field(_BATCH_JSON_RUN, b"[" + b",".join(json_items) + b"]")] if json_items else []
    first_data_offset = len(parts[0]) if parts else 0
    for position, chunk in enumerate(chunks):
        head, tail = chunk.framing()
        opening = _BATCH_CHUNK + varint(len(head) + len(chunk.data) + len(tail)) + head
        if position == 0:
            first_data_offset += len(opening)
        parts += (opening, chunk.data, tail)
    if chunks and needs_alignment(chunks[0].encoding):
        padding = alignment_padding(first_data_offset)
        if padding:
            parts.insert(0, _field(_BATCH_PADDING, padding))
    if attachments:
        offset = sum(len(part) for part in parts)
        for attachment in attachments:
            field = attachment_field(_BATCH_ATTACHMENT, attachment, offset)
            offset += sum(len(part) for part in field)
            parts += field
    return b"".join(parts)


class JsonRun:
    """Consecutive plain chunks (JSON, not final, no metadata) as they will stand in a batch's json_run:
    their JSON joined by commas in one bytearray, as the pump collects them.

    One growing buffer rather than a bytes object per chunk: at a million chunks a second, a
    bytes object kept per chunk until its batch leaves costs more than encoding the chunk.
    """

    __slots__ = ("attachments", "ends", "text")

    def __init__(self) -> None:
        self.text = bytearray()
        # Where each chunk's JSON ends in ``text``.
        self.ends: list[int] = []
        # The binary values of its chunks, each naming its chunk counted from the run's first.
        self.attachments: list[Attachment] = []

    def __len__(self) -> int:
        return len(self.ends)

    @property
    def size(self) -> int:
        """The bytes of its chunks as the pump counts them (each chunk's JSON and attachments)."""
        return len(self.text) - max(len(self.ends) - 1, 0) + attachments_size(self.attachments)

    def add(self, encoded: bytes, attachments: tuple[Attachment, ...] = ()) -> None:
        if self.ends:
            self.text.append(0x2C)
        if attachments:
            chunk = len(self.ends)
            self.attachments.extend(attachment.in_chunk(chunk) for attachment in attachments)
        self.text += encoded
        self.ends.append(len(self.text))

    def part(self, first: int, end: int) -> JsonRun:
        """A copy of its chunks from ``first`` up to ``end``, as a run of their own."""
        part = JsonRun()
        start = self.ends[first - 1] + 1 if first else 0
        part.text = self.text[start : self.ends[end - 1]]
        part.ends = self.ends[first:end]
        if start:
            part.ends = [*map((-start).__add__, part.ends)]
        if self.attachments:
            part.attachments = [a.in_chunk(a.chunk - first) for a in self.attachments if first <= a.chunk < end]
        return part

    def split(self, count: int) -> JsonRun:
        """Its first ``count`` chunks as a run of their own; this run keeps the others."""
        head, rest = self.part(0, count), self.part(count, len(self.ends))
        self.text, self.ends, self.attachments = rest.text, rest.ends, rest.attachments
        return head

    def fitting(self, room: int) -> int:
        """How many of its first chunks fit in ``room`` framed bytes (the run's own brackets aside)."""
        if not self.attachments:
            # A chunk fits if its end plus a bracket does; ends grow, so a bisection finds the last that does.
            return bisect.bisect_right(self.ends, room - 1)
        attached_to: dict[int, int] = {}
        for attachment in self.attachments:
            attached_to[attachment.chunk] = attached_to.get(attachment.chunk, 0) + attachments_size((attachment,))
        attached = 0
        for count, end in enumerate(self.ends):
            attached += attached_to.get(count, 0)
            if end + 1 + attached > room:
                return count
        return len(self.ends)


# A plain chunk travels in a batch's json_run: as its encoded JSON, with the binary values inside
# it when it has some (an EncodedValue), or among others in a JsonRun; any other as an OutgoingChunk.
Item = bytes | EncodedValue | JsonRun | OutgoingChunk


class ChunkBatchBuilder:
    """Chunks packed into one ChunkBatch: first a run of plain JSON chunks, then the others.

    The counterpart of the bridge server's ChunkBatchBuilder (lib/bridge-server/chunk-batch-builder.ts):
    a plain chunk after another kind starts the next batch, so that order is kept, and a batch holds
    as many chunks as fit in ``max_bytes`` once framed, so that a message stays under the transport's
    limit; a chunk too large for any batch goes alone.
    """

    def __init__(self, max_bytes: int, first_index: int = 0) -> None:
        self.first_index = first_index
        """The stream index of the batch's first chunk."""
        # The json_run's texts, each the JSON of one chunk or of several joined by commas, and
        # where each chunk ends in them.
        self._json_parts: list[bytes | bytearray] = []
        self._json_ends: list[list[int]] = []
        self.chunks: list[OutgoingChunk] = []
        self.attachments: list[Attachment] = []
        self._json_count = 0
        self._max_bytes = max_bytes
        self._framed_bytes = 0

    def __len__(self) -> int:
        return self._json_count + len(self.chunks)

    @property
    def json_items(self) -> list[bytes]:
        """The JSON of each chunk of the batch's json_run."""
        items: list[bytes] = []
        for text, ends in zip(self._json_parts, self._json_ends, strict=True):
            starts = [0, *(end + 1 for end in ends[:-1])]
            items.extend(bytes(text[start:end]) for start, end in zip(starts, ends, strict=True))
        return items

    def add(self, item: Item, size: int) -> bool:
        """Adds the item, whose encoding is ``size`` bytes, or returns False when it belongs in the next batch.

        A JsonRun that does not fit whole leaves its first chunks here if they fit (or its first alone, in
        an empty batch), keeping the others, and returns False."""
        room = self._max_bytes - self._framed_bytes if self._framed_bytes else None
        if isinstance(item, OutgoingChunk):
            framed = size + _CHUNK_FRAMING_BYTES
            if room is not None and framed > room:
                return False
            self._attach(item.attachments)
            self.chunks.append(item)
            self._framed_bytes += framed
            return True
        if self.chunks:
            return False
        if isinstance(item, JsonRun):
            framed = size + _JSON_RUN_SEPARATOR_BYTES * len(item)
            limit = self._max_bytes if room is None else room
            if framed <= limit or (room is None and len(item) == 1):
                self._add_json(item.text, item.ends, item.attachments, framed)
                return True
            # Not whole: its first chunks if they fit (the first alone in an empty batch), the others next.
            fitting = item.fitting(limit) or (1 if room is None else 0)
            if fitting:
                head = item.split(fitting)
                self._add_json(head.text, head.ends, head.attachments, head.size + len(head))
            return False
        value = item if isinstance(item, EncodedValue) else EncodedValue(item)
        framed = size + _JSON_RUN_SEPARATOR_BYTES
        if room is not None and framed > room:
            return False
        self._add_json(value.json, [len(value.json)], list(value.attachments), framed)
        return True

    def _add_json(self, text: bytes | bytearray, ends: list[int], attachments: list[Attachment], framed: int) -> None:
        first = self._json_count
        self.attachments.extend(attachment.in_chunk(first + attachment.chunk) for attachment in attachments)
        self._json_parts.append(text)
        self._json_ends.append(ends)
        self._json_count += len(ends)
        self._framed_bytes += framed

    def _attach(self, attachments: tuple[Attachment, ...]) -> None:
        chunk = len(self)
        self.attachments.extend(attachment.in_chunk(chunk) for attachment in attachments)

    def build(self) -> bytes:
        """The serialized ChunkBatch."""
        return encode_batch(self._json_parts, self.chunks, self.attachments)

    def tool_chunks(self, call_id: str) -> Iterator[pb.ToolChunk]:
        """The same chunks as ToolChunk messages, one per chunk, for the stream that sends them so."""
        by_chunk: dict[int, list[pb.Attachment]] = {}
        for attachment in self.attachments:
            by_chunk.setdefault(attachment.chunk, []).append(attachment_message(attachment.in_chunk(0)))
        for offset, item in enumerate(self.json_items):
            yield pb.ToolChunk(
                chunk_id=f"{call_id}-{self.first_index + offset}",
                data=item,
                encoding=pb.ENCODING_JSON,
                attachments=by_chunk.get(offset, ()),
            )
        for chunk in self.chunks:
            yield chunk.message()
