"""Binary arguments reach a tool in place of their placeholders, or the call is refused: none is dropped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel
from snakepit_bridge import BaseAdapter, tool, value_rules
from snakepit_bridge.base_adapter import tools_of
from snakepit_bridge.binary_arguments import decode_binary_arguments
from snakepit_bridge.errors import CallFailure
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.tool_types import types_of

PLACEHOLDER = "\u0000snakepit-attachment:abc:0"
# 1 MiB of float32.
ARRAY = np.arange(256 * 1024, dtype=np.float32)


class Blob(BaseModel):
    data: bytes


class BinaryTools(BaseAdapter):
    @tool
    def take_any(self, value: Any) -> None:
        pass

    @tool
    def take_text(self, text: str) -> None:
        pass

    @tool
    def take_bytes(self, data: bytes, more: bytes = b"") -> None:
        pass

    @tool
    def take_bytes_or_count(self, data: bytes | int) -> None:
        pass

    @tool
    def take_array(self, values: np.ndarray) -> None:
        pass

    @tool
    def take_array_or_names(self, values: np.ndarray | list[str]) -> None:
        pass

    @tool
    def take_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        pass

    @tool
    def take_model(self, blob: Blob) -> None:
        pass

    @tool
    def take_pair(self, pair: tuple[bytes, int] | tuple[str, str]) -> None:
        pass


TYPES = types_of(tools_of(BinaryTools()).values())


def attached_bytes(data: bytes) -> pb.Attachment:
    return pb.Attachment(data=data, encoding=pb.ENCODING_BYTES, placeholder=PLACEHOLDER)


def attached_array(array: Any) -> pb.Attachment:
    return pb.Attachment(
        data=array.tobytes(),
        encoding=pb.ENCODING_NDARRAY,
        array=pb.ArrayInfo(dtype=array.dtype.name, shape=list(array.shape)),
        placeholder=PLACEHOLDER,
    )


def validate(tool_name: str, arguments: object, attachment: pb.Attachment) -> dict[str, object]:
    return TYPES[tool_name].validate(json.dumps(arguments).encode(), decode_binary_arguments([attachment]))


def refusal(tool_name: str, arguments: object, attachment: pb.Attachment) -> CallFailure:
    with pytest.raises(CallFailure) as raised:
        validate(tool_name, arguments, attachment)
    assert raised.value.code == "invalid_arguments"
    return raised.value


@pytest.fixture
def parts_walked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many parts of values the walks of value_rules.find_part looked into (one count)."""
    walked = [0]
    children = value_rules._children

    def counting(value: Any) -> Iterator[tuple[str, Any]]:
        for child in children(value):
            walked[0] += 1
            yield child

    monkeypatch.setattr(value_rules, "_children", counting)
    return walked


@pytest.mark.parametrize(
    ("shape", "why"),
    [
        ([0, 2**62], "numpy cannot make an array of shape [0, 4611686018427387904]"),
        ([1] * 65, "an array argument of 65 dimensions, over numpy's 64"),
    ],
    ids=["too big", "too many dimensions"],
)
def test_an_array_argument_of_a_shape_numpy_cannot_make_is_refused(shape: list[int], why: str) -> None:
    count = 0 if 0 in shape else 1
    attachment = pb.Attachment(
        data=b"\x00" * 8 * count,
        encoding=pb.ENCODING_NDARRAY,
        array=pb.ArrayInfo(dtype="float64", shape=shape),
        placeholder=PLACEHOLDER,
    )
    with pytest.raises(CallFailure) as raised:
        decode_binary_arguments([attachment])
    assert raised.value.code == "invalid_arguments"
    assert why in raised.value.message


def test_an_array_argument_arrives_without_its_items_being_walked(parts_walked: list[int]) -> None:
    arguments = validate("take_array", {"values": PLACEHOLDER}, attached_array(ARRAY))

    assert np.array_equal(arguments["values"], ARRAY)
    assert parts_walked == [0]


def test_an_array_in_a_union_arrives_without_its_items_being_walked(parts_walked: list[int]) -> None:
    arguments = validate("take_array_or_names", {"values": PLACEHOLDER}, attached_array(ARRAY))

    assert np.array_equal(arguments["values"], ARRAY)
    assert parts_walked[0] < 10


@pytest.mark.parametrize(
    ("tool_name", "arguments"),
    [("take_any", {"value": {PLACEHOLDER: 1}}), ("take_arrays", {"arrays": {PLACEHOLDER: [1.5]}})],
    ids=["any value", "dict of arrays"],
)
def test_a_placeholder_used_as_a_dict_key_is_refused(tool_name: str, arguments: object) -> None:
    failure = refusal(tool_name, arguments, attached_bytes(b"\x01\x02"))

    key = next(iter(arguments))
    assert f'a key of arguments["{key}"] is bytes' in failure.message


def test_bytes_where_a_str_goes_are_refused_naming_where() -> None:
    failure = refusal("take_text", {"text": PLACEHOLDER}, attached_bytes(b"\x01"))

    assert failure.message.startswith('arguments["text"] is bytes, which its annotation does not take')


def test_bytes_in_a_models_field_are_refused_rather_than_replaced_by_their_placeholder() -> None:
    # The model's own bytes validator would take the placeholder's text as the bytes.
    failure = refusal("take_model", {"blob": {"data": PLACEHOLDER}}, attached_bytes(b"\x01"))

    assert failure.message.startswith('arguments["blob"]["data"] is bytes, which its annotation does not take')


def test_bytes_taken_by_a_union_member_that_is_not_chosen_are_refused() -> None:
    # pydantic tries tuple[bytes, int], which takes the bytes, then chooses tuple[str, str], which keeps the
    # placeholder.
    failure = refusal("take_pair", {"pair": [PLACEHOLDER, "x"]}, attached_bytes(b"\x01"))

    assert failure.message.startswith('arguments["pair"][0] is bytes, which its annotation does not take')


def test_bytes_in_a_field_the_model_ignores_are_refused() -> None:
    failure = refusal("take_model", {"blob": {"data": "AQ==", "note": PLACEHOLDER}}, attached_bytes(b"\x01"))

    assert failure.message.startswith("bytes sent as a binary argument has no place in the arguments")


@pytest.mark.parametrize(
    ("tool_name", "arguments", "attachment", "problem"),
    [
        (
            "take_bytes",
            {"data": PLACEHOLDER},
            attached_array(np.array([1.5], dtype=np.float32)),
            "argument 'data' should be bytes (a Uint8Array), got an array (float32, shape [1])",
        ),
        (
            "take_arrays",
            {"arrays": {"x": PLACEHOLDER}},
            attached_bytes(b"abc"),
            "argument 'arrays.x' should be an array (a typed array or an NdArray), got bytes (length 3)",
        ),
        (
            "take_bytes_or_count",
            {"data": PLACEHOLDER},
            attached_array(np.zeros((2, 3))),
            "argument 'data' should be bytes | int, got an array (float64, shape [2, 3])",
        ),
        (
            "take_bytes",
            {"data": "!!", "more": PLACEHOLDER},
            attached_bytes(b"abc"),
            "argument 'data' should be valid base64: Invalid symbol 33, offset 0., got \"!!\"",
        ),
    ],
    ids=["array for bytes", "bytes for an array", "array for a union", "bad base64 beside one"],
)
def test_a_binary_argument_of_the_wrong_kind_is_refused_saying_what_was_sent(
    tool_name: str, arguments: object, attachment: pb.Attachment, problem: str
) -> None:
    # The message showed the placeholder ("\u0000snakepit-attachment:…") and pydantic's "value error" wording.
    assert refusal(tool_name, arguments, attachment).message == f"{tool_name}(): {problem}"
