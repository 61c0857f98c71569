"""Padding that places a numpy result where Node can view it in place: 3 modulo 8 within the message.

grpc-js hands a message to its deserializer 5 bytes into an 8-aligned buffer,
so data at offset o of the message lies at an address divisible by 8 when
(5 + o) % 8 == 0.
"""

from __future__ import annotations

import numpy as np
import pytest
from snakepit_bridge.alignment import aligned_response
from snakepit_bridge.proto import bridge_pb2 as pb

RECEIVER_OFFSET = 5


def data_offset(message: bytes, data: bytes) -> int:
    offset = message.find(data)
    assert offset >= 0
    return offset


@pytest.mark.parametrize("length", [0, 1, 5, 15, 16, 17, 1000, 20_000])
def test_an_array_result_is_aligned(length: int) -> None:
    data = (np.arange(length, dtype="<f8") + 0.5).tobytes() if length else b""
    response = aligned_response(
        pb.ExecuteToolResponse(
            result=data, encoding=pb.ENCODING_NDARRAY, array=pb.ArrayInfo(dtype="float64", shape=[length])
        )
    )
    message = response.SerializeToString()

    if data:
        assert (RECEIVER_OFFSET + data_offset(message, data)) % 8 == 0
    assert pb.ExecuteToolResponse.FromString(message).result == data


def test_a_json_result_has_no_padding() -> None:
    assert aligned_response(pb.ExecuteToolResponse(result=b"[1]", encoding=pb.ENCODING_JSON)).padding == b""
