"""ChunkBatch messages written by hand: what protobuf reads back, and arrays placed where Node views them."""

from __future__ import annotations

import numpy as np
import pytest
from snakepit_bridge.attachments import Attachment, BinaryPayload
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.wire import ChunkBatchBuilder, JsonRun, OutgoingChunk, attachments_size, encode_batch, varint

# grpc-js hands a message to its deserializer 5 bytes into an 8-aligned buffer.
RECEIVER_OFFSET = 5


def array_chunk(chunk_id: str, length: int, **extra: object) -> OutgoingChunk:
    data = (np.arange(length, dtype="<f8") + 0.123).tobytes()
    return OutgoingChunk(chunk_id, data, pb.ENCODING_NDARRAY, dtype="float64", shape=(length,), **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 16_383, 16_384, 2**32, 2**63])
def test_varint_matches_protobuf(value: int) -> None:
    assert pb.ArrayInfo.FromString(b"\x12" + varint(len(varint(value))) + varint(value)).shape == [value]


@pytest.mark.parametrize(
    "chunk",
    [
        OutgoingChunk("c-1", b'{"a":1}', is_final=True),
        OutgoingChunk("c-2", b"[1]", metadata={"k": "v", "é": "ü" * 200}),
        OutgoingChunk("c-3", bytes(range(256)) * 600, pb.ENCODING_BYTES),
        OutgoingChunk("", b"null", is_final=True, metadata={"x": ""}),
        array_chunk("c-4", 7, is_final=True, metadata={"rows": "7"}),
        OutgoingChunk(
            "c-5", np.zeros((2, 3, 4), dtype="<i4").tobytes(), pb.ENCODING_NDARRAY, dtype="int32", shape=(2, 3, 4)
        ),
    ],
)
def test_a_chunk_reads_back_as_the_generated_message(chunk: OutgoingChunk) -> None:
    decoded = pb.ChunkBatch.FromString(encode_batch([], [chunk]))

    assert list(decoded.chunks) == [chunk.message()]
    assert chunk.wire_size == chunk.message().ByteSize()


def test_a_batch_reads_back_whole() -> None:
    items = [b'{"seq":%d}' % i for i in range(300)]
    chunks = [OutgoingChunk("c-300", b'"last"', is_final=True), OutgoingChunk("c-301", b"\x00\x01", pb.ENCODING_BYTES)]

    decoded = pb.ChunkBatch.FromString(encode_batch(items, chunks))

    assert decoded.json_run == b"[" + b",".join(items) + b"]"
    assert list(decoded.chunks) == [chunk.message() for chunk in chunks]
    assert decoded.padding == b""


@pytest.mark.parametrize("json_items", [[], [b"1"], [b"1"] * 63, [b"1"] * 64, [b"12345"] * 3000])
@pytest.mark.parametrize("chunk_id", ["", "c-1", "call-with-a-long-identifier-0123456789abcdef-1234"])
@pytest.mark.parametrize("length", [1, 3, 16, 20_000])
def test_the_data_of_a_first_array_chunk_lands_aligned(json_items: list[bytes], chunk_id: str, length: int) -> None:
    chunk = array_chunk(chunk_id, length)

    message = encode_batch(json_items, [chunk, array_chunk("next", 2)])

    assert (RECEIVER_OFFSET + message.find(chunk.data)) % 8 == 0
    decoded = pb.ChunkBatch.FromString(message)
    assert set(decoded.padding) <= {0}
    assert list(decoded.chunks) == [chunk.message(), array_chunk("next", 2).message()]


def test_a_batch_without_a_leading_array_chunk_has_no_padding() -> None:
    plain = pb.ChunkBatch.FromString(encode_batch([b"1"], [OutgoingChunk("c-1", b"raw", pb.ENCODING_BYTES)]))

    assert plain.padding == b""


def test_a_builder_packs_a_json_run_then_other_chunks_and_starts_a_new_batch_for_a_plain_chunk_after_them() -> None:
    special = OutgoingChunk("c-2", b"raw", pb.ENCODING_BYTES)
    batch = ChunkBatchBuilder(1024, first_index=0)

    assert batch.add(b"1", 1) and batch.add(b"2", 1) and batch.add(special, special.wire_size)
    assert not batch.add(b"4", 1), "a plain chunk after another kind belongs in the next batch"

    decoded = pb.ChunkBatch.FromString(batch.build())
    assert decoded.json_run == b"[1,2]"
    assert list(decoded.chunks) == [special.message()]
    assert [chunk.chunk_id for chunk in batch.tool_chunks("c")] == ["c-0", "c-1", "c-2"]


def test_a_builder_stops_at_max_bytes_but_takes_a_larger_chunk_alone() -> None:
    alone = ChunkBatchBuilder(10)
    assert alone.add(b"x" * 50, 50)
    assert not alone.add(b"1", 1)

    bounded = ChunkBatchBuilder(10)
    assert bounded.add(b"1234", 4) and bounded.add(b"1234", 4)
    assert not bounded.add(b"1", 1), "4 + 1 + 4 + 1 framed bytes leave no room for 1 + 1 more"
    assert len(bounded) == 2


def json_run(texts: list[bytes], attached: dict[int, int] | None = None) -> JsonRun:
    """A run of the given chunks' JSON; ``attached`` gives some chunks an attachment of that many bytes."""
    run = JsonRun()
    for index, text in enumerate(texts):
        size = (attached or {}).get(index)
        attachments = () if size is None else (Attachment(BinaryPayload(pb.ENCODING_BYTES, b"\0" * size), "p"),)
        run.add(text, attachments)
    return run


def chunks_of(run: JsonRun) -> list[bytes]:
    starts = [0, *(end + 1 for end in run.ends[:-1])]
    return [bytes(run.text[start:end]) for start, end in zip(starts, run.ends, strict=True)]


TEXTS = [b"1", b'{"a":22}', b"[333]", b'"4444"', b"55555", b"{}"]


@pytest.mark.parametrize("attached", [None, {1: 10}, {0: 3, 2: 300, 5: 1}])
def test_a_run_fits_in_room_the_chunks_whose_json_and_attachments_fit(attached: dict[int, int] | None) -> None:
    run = json_run(TEXTS, attached)

    for room in range(0, 600):
        # By definition: the longest prefix whose JSON, commas, bracket and attachments fit.
        expected = 0
        while (
            expected < len(TEXTS)
            and run.ends[expected] + 1 + attachments_size([a for a in run.attachments if a.chunk <= expected]) <= room
        ):
            expected += 1
        assert run.fitting(room) == expected, room


@pytest.mark.parametrize("first, end", [(0, 6), (0, 1), (2, 5), (5, 6), (1, 2)])
def test_a_part_of_a_run_holds_those_chunks_and_their_attachments(first: int, end: int) -> None:
    run = json_run(TEXTS, {0: 3, 2: 30, 4: 4})

    part = run.part(first, end)

    assert chunks_of(part) == TEXTS[first:end]
    assert [(a.chunk, len(a.payload.data)) for a in part.attachments] == [
        (chunk - first, size) for chunk, size in ((0, 3), (2, 30), (4, 4)) if first <= chunk < end
    ]
    assert chunks_of(run) == TEXTS, "the run itself is unchanged"


def test_a_split_run_keeps_the_chunks_after_its_head() -> None:
    run = json_run(TEXTS, {1: 5, 4: 6})

    head = run.split(2)

    assert chunks_of(head) == TEXTS[:2] and chunks_of(run) == TEXTS[2:]
    assert [a.chunk for a in head.attachments] == [1] and [a.chunk for a in run.attachments] == [2]
