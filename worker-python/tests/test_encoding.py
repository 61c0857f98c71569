"""What values become on the wire: JSON text, raw bytes, or a numpy buffer with its dtype and shape."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import numpy as np
import pytest
from sample_adapters import Opaque
from snakepit_bridge import json_stdlib
from snakepit_bridge.encoding import encode_binary, encode_json, json_default, no_orjson
from snakepit_bridge.errors import CallFailure
from snakepit_bridge.proto import bridge_pb2 as pb
from typed_tools import Color, Person, Point

RAW_DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"]


# --- JSON ---------------------------------------------------------------------


def test_json_is_compact() -> None:
    assert encode_json({"a": [1, 2, {"b": None}], "c": True}) == b'{"a":[1,2,{"b":null}],"c":true}'


@pytest.mark.parametrize(
    "value",
    [
        {"seq": 1, "value": 0.123456789, "label": "item-000001"},
        [1, -0.0, 2.5e-300, 1e300, None, True, False, 'é ✓ \n\t"\\'],
        {"nested": {"list": [[], {}, ""], "tuple": (1, 2)}, 3: "int key", 1.5: "float key", None: "null key"},
        "a top-level string",
        np.int64(7),
        {"array": np.arange(3, dtype=np.int16)},
    ],
    ids=repr,
)
def test_the_fast_stdlib_encoder_writes_what_json_encoder_writes(value: Any) -> None:
    reference = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=json_default)

    assert json_stdlib._encode_text(value, json_default) == reference.encode(value)


@pytest.mark.parametrize(
    "value",
    [
        {"seq": 1, "value": 0.123456789, "label": "item-000001"},
        [1, -0.0, 2.5e-300, 1e300, 1e16, 0.1, None, True, False, 'é ✓ \n\t"\\\u0000'],
        {"nested": {"list": [[], {}, ""], "tuple": (1, 2)}, 3: "int key", 1.5: "float key", None: "null key"},
        np.int64(7),
        {"array": np.arange(3, dtype=np.int16), "half": np.array([0.5], dtype=np.float16)},
        {"name": "a\ud800b"},
    ],
    ids=repr,
)
def test_orjson_and_the_standard_library_encoder_give_the_same_values(value: Any) -> None:
    assert json.loads(encode_json(value)) == json.loads(encode_json(value, encoder=no_orjson))


def test_json_keeps_non_ascii_text_as_utf8() -> None:
    encoded = encode_json({"name": "héllo ✓ 世界"})

    assert encoded == '{"name":"héllo ✓ 世界"}'.encode()


def test_json_escapes_lone_surrogates_which_utf8_cannot_carry() -> None:
    encoded = encode_json({"name": "a\ud800b", "other": "é"})

    assert encoded == '{"name":"a\\ud800b","other":"é"}'.encode()
    assert json.loads(encoded) == {"name": "a\ud800b", "other": "é"}


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -float("inf"), {"loss": float("nan")}, [1.0, float("inf")]]
)
def test_json_refuses_nan_and_infinity(value: Any) -> None:
    with pytest.raises(CallFailure) as raised:
        encode_json(value)

    assert raised.value.code == "serialization_error"
    assert raised.value.python_type == "ValueError"
    assert raised.value.hint


def test_json_failure_names_the_unencodable_type() -> None:
    with pytest.raises(CallFailure) as raised:
        encode_json({"model": [1, Opaque()]})

    assert raised.value.code == "serialization_error"
    assert raised.value.python_type == "TypeError"
    assert "Opaque" in raised.value.message
    assert 'value["model"][1]' in raised.value.message, "the message says where in the value it is"


def test_values_an_annotation_describes_take_the_json_form_their_schema_gives() -> None:
    value = {
        "point": Point(1.5, 2),
        "color": Color.BLUE,
        "when": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "day": datetime.date(2024, 1, 2),
        "at": datetime.time(10, 30),
        "id": uuid.UUID(int=1),
        "person": Person(name="Ada"),
        "points": [Point(0, 0)],
    }

    assert json.loads(encode_json(value)) == {
        "point": {"x": 1.5, "y": 2},
        "color": "blue",
        "when": "2024-01-02T03:04:05+00:00",
        "day": "2024-01-02",
        "at": "10:30:00",
        "id": "00000000-0000-0000-0000-000000000001",
        "person": {"name": "Ada", "age": 0},
        "points": [{"x": 0, "y": 0}],
    }


def test_sets_and_tuples_arrive_as_lists() -> None:
    assert json.loads(encode_json({"tags": {"a"}, "frozen": frozenset({1}), "pair": (1, 2)})) == {
        "tags": ["a"],
        "frozen": [1],
        "pair": [1, 2],
    }


def test_json_failure_for_a_circular_structure() -> None:
    looped: list[Any] = []
    looped.append(looped)

    with pytest.raises(CallFailure) as raised:
        encode_json(looped)

    assert raised.value.code == "serialization_error"


def test_numpy_scalars_nested_in_json_become_plain_numbers() -> None:
    value = {
        "int": np.int64(7),
        "uint": np.uint8(255),
        "float": np.float32(0.5),
        "double": np.float64(1.25),
        "flag": np.bool_(True),
    }

    assert json.loads(encode_json(value)) == {"int": 7, "uint": 255, "float": 0.5, "double": 1.25, "flag": True}


def test_numpy_arrays_nested_in_json_become_lists() -> None:
    value = {"weights": np.array([[1, 2], [3, 4]], dtype=np.int32), "half": np.array([0.5], dtype=np.float16)}

    assert json.loads(encode_json(value)) == {"weights": [[1, 2], [3, 4]], "half": [0.5]}


def test_numpy_nan_nested_in_json_is_refused() -> None:
    with pytest.raises(CallFailure) as raised:
        encode_json({"loss": np.float64("nan"), "grads": np.array([np.nan])})

    assert raised.value.code == "serialization_error"


def test_plain_values_are_not_binary() -> None:
    for value in ({"a": 1}, [1, 2], "text", 3, 1.5, None, True, np.float64(1.0)):
        assert encode_binary(value) is None, value


# --- bytes ----------------------------------------------------------------------


@pytest.mark.parametrize("value", [b"\x00\x01\xff", bytearray(b"\x00\x01\xff"), memoryview(b"\x00\x01\xff")])
def test_bytes_like_values_travel_raw(value: Any) -> None:
    payload = encode_binary(value)

    assert payload is not None
    assert payload.encoding == pb.ENCODING_BYTES
    assert payload.data == b"\x00\x01\xff"
    assert isinstance(payload.data, bytes)
    assert payload.dtype == "" and payload.shape == ()


def test_empty_bytes_travel_raw() -> None:
    payload = encode_binary(b"")

    assert payload is not None and payload.encoding == pb.ENCODING_BYTES and payload.data == b""


# --- numpy arrays -------------------------------------------------------------


@pytest.mark.parametrize("dtype", RAW_DTYPES)
def test_numeric_arrays_travel_as_little_endian_buffers(dtype: str) -> None:
    array = (np.arange(6) % 2 == 0) if dtype == "bool" else np.arange(6).astype(dtype)
    array = array.reshape(2, 3)

    payload = encode_binary(array)

    assert payload is not None
    assert payload.encoding == pb.ENCODING_NDARRAY
    assert payload.dtype == dtype
    assert list(payload.shape) == [2, 3]
    little_endian = np.dtype(dtype).newbyteorder("<")
    assert payload.data == array.astype(little_endian).tobytes()
    decoded = np.frombuffer(payload.data, dtype=little_endian).reshape(tuple(payload.shape))
    np.testing.assert_array_equal(decoded, array)


@pytest.mark.parametrize("dtype", [">i2", ">i4", ">i8", ">u2", ">u4", ">u8", ">f4", ">f8"])
def test_big_endian_arrays_are_converted_to_little_endian(dtype: str) -> None:
    array = np.array([1, 258, 32767], dtype=dtype)

    payload = encode_binary(array)

    assert payload is not None
    assert payload.dtype == np.dtype(dtype).name
    assert payload.data == np.array([1, 258, 32767], dtype=np.dtype(dtype).newbyteorder("<")).tobytes()
    assert payload.data != array.tobytes()


def test_non_contiguous_arrays_travel_in_c_order() -> None:
    array = np.arange(12, dtype=np.int32).reshape(3, 4).T[::2]

    payload = encode_binary(array)

    assert payload is not None
    assert list(payload.shape) == [2, 3]
    assert payload.data == np.ascontiguousarray(array).astype("<i4").tobytes()


def test_zero_dimensional_and_empty_arrays() -> None:
    scalar = encode_binary(np.array(3.5))
    empty = encode_binary(np.zeros((0, 4), dtype=np.float32))

    assert scalar is not None
    assert list(scalar.shape) == [] and scalar.data == np.array(3.5, dtype="<f8").tobytes()
    assert empty is not None
    assert list(empty.shape) == [0, 4] and empty.data == b""


def test_float16_arrays_are_not_raw_but_travel_as_json_lists() -> None:
    array = np.array([[0.5, -1.25]], dtype=np.float16)

    assert encode_binary(array) is None
    assert json.loads(encode_json(array)) == [[0.5, -1.25]]


def test_the_fast_stdlib_encoder_is_in_use_on_this_python() -> None:
    assert json_stdlib._encode_text.__name__ == "encode"
