"""orjson and the standard library's encoder give the same decoded values, and the same refusals.

orjson writes the JSON of results and chunks; the standard library's encoder is its fallback (what
orjson cannot write, or writes differently, such as NaN as null). Whichever writes a value, Node
must decode the same value, or get the same serialization_error.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import uuid
from collections import namedtuple
from typing import Any

import numpy as np
import pytest
from snakepit_bridge.binary_arguments import put_in_place
from snakepit_bridge.encoding import encode_json, encode_value, no_orjson, orjson_encode
from snakepit_bridge.errors import CallFailure

SAFE = 2**53 - 1
Pair = namedtuple("Pair", "a b")


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: Any
    y: Any


class Opaque:
    pass


def _nested(depth: int) -> Any:
    """Lists nested past orjson's limit (254 levels), which the standard library's encoder writes."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


VALUES: list[Any] = [
    {"seq": 1, "value": 0.123456789, "label": "item-000001"},
    [0, SAFE, -SAFE, -0.0, 0.0, 1e300, 2.0**60, 1e16, 5e-324, 0.1, None, True, False],
    'é ✓ \n\t"\\\u0000\u2028',
    {"lone": "a\ud800b", "pair": "\ud83d\ude00"},
    {1: "int key", 1.5: "float key", None: "null key", 2**70: "big key"},
    {True: "true key", False: "false key"},
    {"tuple": (1, 2), "set": {3}, "frozen": frozenset({4}), "named": Pair(1, [2])},
    {"when": datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.UTC), "day": datetime.date(2024, 1, 2)},
    {"at": datetime.time(10, 30), "naive": datetime.datetime(2024, 1, 2)},
    {"id": uuid.UUID(int=1), "price": decimal.Decimal("1.10"), "color": Color.RED, "point": Point(1, Point(2, "x"))},
    {"np": [np.int64(SAFE), np.float32(0.5), np.float64(-0.0), np.bool_(True), np.uint8(255)]},
    {"half": np.array([0.5, -0.0], dtype=np.float16), "ints": np.array([[1, 2]], dtype=np.int32)},
    _nested(300),
    "x" * 300 + "\ud800",
]

REFUSED: list[Any] = [
    SAFE + 1,
    -SAFE - 1,
    {"a": [1, 2, 2**60]},
    {3: 2**60},
    [np.int64(2**60)],
    {"u": np.uint64(2**64 - 1)},
    {"loss": float("nan")},
    [1.0, float("-inf")],
    {"loss": np.float64("inf")},
    {"p": Point(2**60, 1)},
    {"p": Point(float("nan"), 1)},
    {"o": [1, Opaque()]},
    {"z": 1j},
    {"b": b"bytes inside JSON alone"},
    {"m": np.ma.array([1.0], mask=[True])},
    {"s": np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])},
    {"grads": np.array([1.0, np.nan])},
    {1: "int key", "1": "str key"},
    {"n": {True: 1, "true": 2}},
    {(1, 2): "tuple key"},
]


def outcome(encode: Any, value: Any) -> Any:
    try:
        encoded = encode(value)
    except CallFailure as failure:
        return ("refused", failure.code, failure.message, failure.hint)
    return ("encoded", json.loads(encoded))


def same(left: Any, right: Any) -> bool:
    """Equal, and -0.0 told from 0.0."""
    return json.dumps(left, sort_keys=True, default=str) == json.dumps(right, sort_keys=True, default=str)


@pytest.mark.parametrize("value", VALUES + REFUSED, ids=repr)
def test_both_give_the_same_json_values_or_the_same_refusal(value: Any) -> None:
    fast = outcome(lambda item: encode_json(item, "result", encoder=orjson_encode), value)
    fallback = outcome(lambda item: encode_json(item, "result", encoder=no_orjson), value)

    assert same(fast, fallback)


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_the_refused_values_are_refused(value: Any) -> None:
    assert outcome(lambda item: encode_json(item, "result"), value)[0] == "refused"


@pytest.mark.parametrize(
    "value",
    [
        {"w": np.arange(3, dtype=np.float32), "b": b"\x00", "n": [1, {"deep": np.zeros((2, 0))}]},
        {"w": np.array([np.nan]), "text": "\u0000snakepit-attachment:0"},
        [b"a", b"b", np.int64(5), {"set": {1}}],
    ],
    ids=repr,
)
def test_both_give_the_same_values_and_attachments_when_arrays_travel_raw(value: Any) -> None:
    fast = encode_value(value, "chunk", 3, encoder=orjson_encode)
    fallback = encode_value(value, "chunk", 3, encoder=no_orjson)

    def with_attachments(encoded: Any) -> Any:
        by_placeholder = {attachment.placeholder: attachment.payload for attachment in encoded.attachments}
        return json.loads(encoded.json), by_placeholder

    fast_json, fast_payloads = with_attachments(fast)
    fallback_json, fallback_payloads = with_attachments(fallback)
    assert list(fast_payloads.values()) == list(fallback_payloads.values())

    assert put_in_place(fast_json, fast_payloads) == put_in_place(fallback_json, fallback_payloads)


@pytest.mark.parametrize("value", [{"loss": float("nan"), "w": np.zeros(2)}, {"n": 2**60, "b": b"x"}], ids=repr)
def test_both_refuse_the_same_values_when_arrays_travel_raw(value: Any) -> None:
    def refusal(encoder: Any) -> str:
        with pytest.raises(CallFailure) as raised:
            encode_value(value, "chunk", 3, encoder=encoder)
        return raised.value.message

    assert refusal(orjson_encode) == refusal(no_orjson)
    assert refusal(orjson_encode).startswith("chunk[3][")
