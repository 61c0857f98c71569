"""Padding that places numpy data where Node can view it in place: 3 modulo 8 within the message.

grpc-js hands a message to its deserializer 5 bytes into an 8-aligned buffer,
so data at offset o of the message lies at an address divisible by 8 when
(5 + o) % 8 == 0.
"""

from __future__ import annotations

import numpy as np
import pytest

from snakepit_bridge.alignment import aligned_batch, aligned_response
from snakepit_bridge.proto import bridge_pb2 as pb

RECEIVER_OFFSET = 5


def array_chunk(chunk_id: str, length: int) -> pb.ToolChunk:
    data = (np.arange(length, dtype="<f8") + 0.123).tobytes()
    return pb.ToolChunk(
        chunk_id=chunk_id, data=data, encoding=pb.ENCODING_NDARRAY, array=pb.ArrayInfo(dtype="float64", shape=[length])
    )


def data_offset(message: bytes, data: bytes) -> int:
    offset = message.find(data)
    assert offset >= 0
    return offset


@pytest.mark.parametrize("json_run_length", [0, 3, 7, 126, 127, 128, 200, 16_383, 16_384])
@pytest.mark.parametrize("chunk_id", ["", "c-1", "call-with-a-long-identifier-0123456789abcdef-1234"])
@pytest.mark.parametrize("length", [1, 3, 16, 20_000])
def test_the_first_array_chunk_of_a_batch_is_aligned(json_run_length: int, chunk_id: str, length: int) -> None:
    json_run = b"[" + b"1," * ((json_run_length - 2) // 2) + b"1]" if json_run_length else b""
    chunk = array_chunk(chunk_id, length)

    batch = aligned_batch(json_run, [chunk, array_chunk("next", 2)])
    message = batch.SerializeToString()

    assert (RECEIVER_OFFSET + data_offset(message, chunk.data)) % 8 == 0
    assert set(batch.padding) <= {0}
    decoded = pb.ChunkBatch.FromString(message)
    assert decoded.json_run == json_run and list(decoded.chunks) == batch.chunks


def test_a_batch_without_a_leading_array_chunk_has_no_padding() -> None:
    plain = aligned_batch(b"[1]", [pb.ToolChunk(chunk_id="c-1", data=b"raw", encoding=pb.ENCODING_BYTES)])
    empty = aligned_batch(b"[1,2]", [])

    assert plain.padding == b"" and empty.padding == b""


@pytest.mark.parametrize("length", [0, 1, 5, 15, 16, 17, 1000, 20_000])
def test_an_array_result_is_aligned(length: int) -> None:
    data = (np.arange(length, dtype="<f8") + 0.5).tobytes() if length else b""
    response = aligned_response(
        pb.ExecuteToolResponse(result=data, encoding=pb.ENCODING_NDARRAY, array=pb.ArrayInfo(dtype="float64", shape=[length]))
    )
    message = response.SerializeToString()

    if data:
        assert (RECEIVER_OFFSET + data_offset(message, data)) % 8 == 0
    assert pb.ExecuteToolResponse.FromString(message).result == data


def test_a_json_result_has_no_padding() -> None:
    assert aligned_response(pb.ExecuteToolResponse(result=b"[1]", encoding=pb.ENCODING_JSON)).padding == b""
