"""The rules every encoder of the worker must keep: nothing arrives as a value it was not.

Each table row is a value a tool may produce (or arguments a client may send),
and what must become of it: exactly the same value on the other side, or a
refusal that names where the value is and says why. A faster encoder (orjson,
OPT_STRICT_INTEGER) must pass these tables unchanged.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from snakepit_bridge.arguments import decode_arguments
from snakepit_bridge.encoding import encode_binary, encode_json, encode_value
from snakepit_bridge.errors import CallFailure

SAFE = 2**53 - 1


def encode(value: Any, where: str = "result") -> Any:
    """The value as it arrives: decoded JSON, or for raw arrays the decoded buffer's items."""
    binary = encode_binary(value, where)
    if binary is None:
        return json.loads(encode_json(value, where))
    if binary.dtype:
        dtype = np.dtype(binary.dtype).newbyteorder("<")
        return np.frombuffer(binary.data, dtype=dtype).reshape(binary.shape).tolist()
    return binary.data


def refusal(value: Any, where: str = "result") -> CallFailure:
    with pytest.raises(CallFailure) as raised:
        encode(value, where)
    return raised.value


def same(left: Any, right: Any) -> bool:
    """Equal, and of the same sign where both are zero (0.0 == -0.0 in Python)."""
    if isinstance(left, float) and isinstance(right, float):
        return left == right and math.copysign(1, left) == math.copysign(1, right)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    return bool(left == right) and type(left) is type(right)


# --- what arrives exactly ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "arrives"),
    [
        (0, 0),
        (SAFE, SAFE),
        (-SAFE, -SAFE),
        (1234567890123456, 1234567890123456),
        ({"timestamp_us": 1_700_000_000_000_000}, {"timestamp_us": 1_700_000_000_000_000}),
        ("12345678901234567890", "12345678901234567890"),
        ({"id": "98765432109876543210", "n": 1}, {"id": "98765432109876543210", "n": 1}),
        (-0.0, -0.0),
        ([0.0, -0.0, {"z": -0.0}], [0.0, -0.0, {"z": -0.0}]),
        (1234567890123456.8, 1234567890123456.8),
        (2.0**60, 2.0**60),
        (1e300, 1e300),
        (np.int64(SAFE), SAFE),
        (np.uint64(7), 7),
        (np.float64(-0.0), -0.0),
        (np.float32(0.5), 0.5),
        ({"half": np.array([0.5, -0.0], dtype=np.float16)}, {"half": [0.5, -0.0]}),
        ({"counts": np.array([1, SAFE], dtype=np.int64)}, {"counts": [1, SAFE]}),
        ([np.ma.array([1.5, 2.5])], [[1.5, 2.5]]),
    ],
    ids=repr,
)
def test_values_arrive_exactly(value: Any, arrives: Any) -> None:
    assert same(encode(value), arrives)


@pytest.mark.parametrize(
    ("array", "arrives"),
    [
        (np.array([2**60, -(2**63)], dtype=np.int64), [2**60, -(2**63)]),
        (np.array([2**64 - 1], dtype=np.uint64), [2**64 - 1]),
        (np.array([-0.0, 1.0], dtype=np.float64), [-0.0, 1.0]),
        (np.ma.array([2**60, 3], dtype=np.int64), [2**60, 3]),
    ],
    ids=["int64", "uint64", "negative zero", "masked array masking nothing"],
)
def test_arrays_of_any_raw_dtype_stay_exact_as_raw_arrays(array: Any, arrives: Any) -> None:
    payload = encode_binary(array, "result")

    assert payload is not None and payload.dtype == array.dtype.name
    assert same(encode(array), arrives)


# --- integers JavaScript cannot hold --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (SAFE + 1, "result"),
        (-SAFE - 1, "result"),
        (10**30, "result"),
        ({"a": [1, 2, 3, 2**60]}, 'result["a"][3]'),
        ({"a": {"b": -(10**20)}}, 'result["a"]["b"]'),
        ((1, 2**53), "result[1]"),
        ({3: 2**60}, 'result["3"]'),
        ({"é ✓": 2**60}, 'result["é ✓"]'),
        ([np.int64(2**60)], "result[0]"),
        ({"u": np.uint64(2**64 - 1)}, 'result["u"]'),
        ({"arr": np.array([1, 2**60], dtype=np.int64)}, 'result["arr"][1]'),
        ({"arr": np.array([[1], [2**60]], dtype=np.uint64)}, 'result["arr"][1][0]'),
        ({"first": 2**60, "second": 2**61}, 'result["first"]'),
        (np.int64(-(2**63)), "result"),
    ],
    ids=repr,
)
def test_integers_beyond_2_53_are_refused_where_they_are(value: Any, path: str) -> None:
    failure = refusal(value)

    assert failure.code == "serialization_error"
    assert failure.message.startswith(f"{path} is the integer ")
    assert "2^53" in failure.message
    assert "string" in failure.hint and "float" in failure.hint


def test_a_chunk_names_its_index() -> None:
    assert refusal({"n": 2**60}, "chunk[7]").message.startswith('chunk[7]["n"] is the integer 1152921504606846976')


def test_a_huge_integer_is_shown_short() -> None:
    assert len(refusal(10**1000).message) < 200


# --- numpy values that would lose something -------------------------------------------------

_STRUCTURED = np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])
_MASKED = np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False])


@pytest.mark.parametrize(
    ("value", "path", "why"),
    [
        (_MASKED, "result", "masked array with 1 masked entry: its mask cannot travel"),
        ({"m": _MASKED}, 'result["m"]', "its mask cannot travel"),
        ([[1, 2], [_MASKED]], "result[1][0]", "its mask cannot travel"),
        ([1.0, _MASKED[1]], "result[1]", "numpy.ma.masked"),
        (_MASKED[1], "result", "numpy.ma.masked"),
        (_STRUCTURED, "result", "field names would be lost"),
        ({"s": _STRUCTURED}, 'result["s"]', "field names would be lost"),
        ({"row": _STRUCTURED[0]}, 'result["row"]', "field names would be lost"),
        (np.array([1.0], dtype=np.longdouble), "result", "long double"),
        ({"x": np.longdouble(1.5)}, 'result["x"]', "long double"),
        (np.array([1 + 2j]), "result", "complex numbers"),
        ({"z": np.complex64(1j)}, 'result["z"]', "complex numbers"),
        (np.array([{"a": 1}], dtype=object), "result", "Node has no typed array"),
        ({"names": np.array(["a", "b"])}, 'result["names"]', "Node has no typed array"),
        (np.array([b"a"]), "result", "Node has no typed array"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), "result", "JavaScript has no matching type"),
        ({"at": np.datetime64("2020-01-01T00:00:00", "ns")}, 'result["at"]', "JavaScript has no matching type"),
        ({"took": np.timedelta64(5, "s")}, 'result["took"]', "JavaScript has no matching type"),
    ],
    ids=repr,
)
def test_numpy_values_that_would_lose_something_are_refused_saying_why(value: Any, path: str, why: str) -> None:
    failure = refusal(value)

    assert failure.code == "serialization_error"
    assert failure.message.startswith(f"{path} is ")
    assert why in failure.message
    assert "recursion" not in failure.message
    assert failure.hint


# --- other values JSON cannot carry ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"loss": float("nan")}, 'result["loss"]'),
        ([1.0, float("-inf")], "result[1]"),
        ({"grads": np.array([1.0, np.inf])}, 'result["grads"][1]'),
        # Sets were refused here until issue #13 made them arrive as lists (Snakepit's graceful values).
        ({"z": [1j]}, 'result["z"][0]'),
    ],
    ids=repr,
)
def test_other_unencodable_values_are_refused_where_they_are(value: Any, path: str) -> None:
    assert refusal(value).message.startswith(f"{path} is ")


@pytest.mark.parametrize(
    "frame",
    [pd.DataFrame({"mixed": [1, "a"]}), pd.DataFrame([[1, 2]], columns=["a", "a"])],
    ids=["mixed-column", "duplicate-columns"],
)
def test_a_dataframe_that_arrow_cannot_convert_is_refused_where_it_is(frame: pd.DataFrame) -> None:
    alone = refusal(frame)
    with pytest.raises(CallFailure) as inside:
        encode_value({"frame": [0, frame]}, "chunk", 2)

    for failure, path in ((alone, "result"), (inside.value, 'chunk[2]["frame"][1]')):
        assert failure.code == "serialization_error"
        assert failure.message.startswith(f"{path} is a pandas DataFrame that Arrow cannot convert (")


def test_a_polars_dataframe_that_arrow_cannot_carry_is_refused_where_it_is() -> None:
    polars = pytest.importorskip("polars")
    frame = polars.DataFrame({"big": polars.Series([1], dtype=polars.Int128)})

    alone = refusal(frame)
    with pytest.raises(CallFailure) as inside:
        encode_value({"frame": frame}, "chunk", 2)

    for failure, path in ((alone, "result"), (inside.value, 'chunk[2]["frame"]')):
        assert failure.code == "serialization_error"
        assert failure.message.startswith(f"{path} is a polars DataFrame that Arrow cannot convert (")


# JSON's keys are strings: the encoders write int, float, bool and None keys as text.
@pytest.mark.parametrize(
    ("value", "path", "why"),
    [
        ({1: "int key", "1": "str key"}, "result", "keys 1 and '1' are both written \"1\""),
        ({"nested": [{True: "bool key", "true": "str key"}]}, 'result["nested"][0]', "keys True and 'true'"),
        ({None: 1, "null": 2}, "result", "keys None and 'null'"),
        ({1.0: 1, "1.0": 2}, "result", "keys 1.0 and '1.0'"),
        ({"a": {(1, 2): "tuple key"}}, 'result["a"]', "the key (1, 2) of type tuple"),
        ({"a": {float("nan"): 1}}, 'result["a"]', "the key nan"),
        ({"a": {np.int64(1): 1}}, 'result["a"]', "of type int64"),
    ],
    ids=repr,
)
def test_dict_keys_that_json_cannot_keep_apart_or_write_are_refused_where_they_are(
    value: Any, path: str, why: str
) -> None:
    failure = refusal(value)
    assert failure.code == "serialization_error"
    assert failure.message.startswith(f"{path} is a dict ")
    assert why in failure.message


def test_dict_keys_that_json_writes_as_distinct_text_arrive_as_that_text() -> None:
    assert encode({1: "a", 2.5: "b", None: "c", "x": "d"}) == {"1": "a", "2.5": "b", "null": "c", "x": "d"}
    assert encode([{True: "e", False: "f"}]) == [{"true": "e", "false": "f"}]


# --- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "arguments"),
    [
        (b'{"a": -0}', {"a": -0.0}),
        (b'{"a": -0.0, "b": 0}', {"a": -0.0, "b": 0}),
        (b'{"x": {"y": [0, -0, -0.5, -0e3]}}', {"x": {"y": [0, -0.0, -0.5, -0.0]}}),
        (b'{"a": 9007199254740991, "b": -9007199254740991}', {"a": SAFE, "b": -SAFE}),
        (b'{"id": "12345678901234567890"}', {"id": "12345678901234567890"}),
        (b'{"big": 12345678901234567890.0, "e": 1e300}', {"big": 12345678901234567890.0, "e": 1e300}),
        (b'{"text": "-0"}', {"text": "-0"}),
        (b"", {}),
    ],
    ids=repr,
)
def test_arguments_arrive_exactly(raw: bytes, arguments: dict[str, Any]) -> None:
    assert same(decode_arguments(raw), arguments)


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b'{"a": 9007199254740992}', 'arguments["a"]'),
        (b'{"a": -9007199254740992}', 'arguments["a"]'),
        (b'{"a": [1, 2, 3, 123456789012345678901234567890]}', 'arguments["a"][3]'),
        (b'{"a": {"b": -0, "c": 18446744073709551615}}', 'arguments["a"]["c"]'),
    ],
    ids=repr,
)
def test_argument_integers_beyond_2_53_are_invalid_arguments_where_they_are(raw: bytes, path: str) -> None:
    with pytest.raises(CallFailure) as raised:
        decode_arguments(raw)

    assert raised.value.code == "invalid_arguments"
    assert raised.value.message.startswith(f"{path} is the integer ")
    assert "string" in raised.value.hint


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"a": NaN}', 'arguments["a"] is NaN, which JSON cannot represent'),
        (b'{"a": [1, Infinity]}', 'arguments["a"][1] is Infinity, which JSON cannot represent'),
        (b'{"a": {"b": -Infinity}}', 'arguments["a"]["b"] is -Infinity, which JSON cannot represent'),
        (b'{"a": 1e400}', 'arguments["a"] is 1e400, beyond the largest float: it would arrive as inf'),
        (b'{"a": -2.5E+308}', 'arguments["a"] is -2.5E+308, beyond the largest float: it would arrive as -inf'),
        (b'{"a": 1' + b"0" * 400 + b".5}", 'arguments["a"] is 10000000000000000000'),
    ],
    ids=["NaN", "Infinity", "-Infinity", "overflowing exponent", "overflowing negative", "overflowing digits"],
)
def test_arguments_that_are_not_finite_numbers_are_invalid_arguments_where_they_are(raw: bytes, message: str) -> None:
    """Python's json reads NaN and Infinity, which are not JSON, and a float too large as inf: a bridge
    server's clients could send either, and the tool would get a value nobody sent."""
    with pytest.raises(CallFailure) as raised:
        decode_arguments(raw)

    assert raised.value.code == "invalid_arguments"
    assert raised.value.message.startswith(message)


def test_text_that_looks_like_a_non_finite_number_is_only_text() -> None:
    raw = b'{"a": "NaN Infinity 1e400", "b": 1e300, "c": -1.5e-400}'
    assert same(decode_arguments(raw), {"a": "NaN Infinity 1e400", "b": 1e300, "c": -0.0})
