"""Arguments checked against the signature before a tool runs: what is refused, and what is converted."""

from __future__ import annotations

import datetime
import json
from typing import Any

import numpy as np
import pytest
from snakepit_bridge.base_adapter import tools_of
from snakepit_bridge.errors import CallFailure
from snakepit_bridge.tool_types import types_of
from typed_tools import Access, Color, Person, Point, Priority, TypedTools

TYPES = types_of(tools_of(TypedTools()).values())


def validate(tool: str, arguments: Any) -> dict[str, object]:
    return TYPES[tool].validate(json.dumps(arguments).encode())


def refusal(tool: str, arguments: Any) -> CallFailure:
    with pytest.raises(CallFailure) as raised:
        validate(tool, arguments)
    assert raised.value.code == "invalid_arguments"
    return raised.value


SCALARS = {"count": 1, "ratio": 0.5, "name": "x", "flag": True}


# --- refused ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({**SCALARS, "count": "1"}, """scalars(): argument 'count' should be a valid integer, got "1\""""),
        ({**SCALARS, "ratio": "0.5"}, """scalars(): argument 'ratio' should be a valid number, got "0.5\""""),
        ({**SCALARS, "count": 1.5}, "scalars(): argument 'count' should be a valid integer, got 1.5"),
        ({**SCALARS, "count": True}, "scalars(): argument 'count' should be a valid integer, got true"),
        ({**SCALARS, "flag": 1}, "scalars(): argument 'flag' should be a valid boolean, got 1"),
        ({**SCALARS, "name": 5}, "scalars(): argument 'name' should be a valid string, got 5"),
        ({**SCALARS, "nothing": 0}, "scalars(): argument 'nothing' should be null, got 0"),
        ({"ratio": 0.5, "name": "x", "flag": True}, "scalars(): missing required argument 'count' (int)"),
        ({**SCALARS, "colour": "red"}, "scalars(): unexpected argument 'colour'"),
        ({**SCALARS, "k" * 10_000: 1}, f"scalars(): unexpected argument '{'k' * 64}…'"),
    ],
    ids=[
        "string for int",
        "string for float",
        "fraction for int",
        "bool for int",
        "int for bool",
        "int for str",
        "int for None",
        "missing",
        "unknown keyword",
        "unknown keyword, quoted cut",
    ],
)
def test_a_wrong_missing_or_unknown_argument_is_named_with_what_was_expected(
    arguments: dict[str, Any], message: str
) -> None:
    failure = refusal("scalars", arguments)

    assert failure.message == message
    assert failure.hint == "parameters: count, ratio, name, flag, nothing"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"priority": True}, "numbered(): argument 'priority' should be 1 or 2, got true"),
        ({"priority": 2, "access": False}, "numbered(): argument 'access' should be 1 or 2, got false"),
    ],
    ids=["true for an IntEnum", "false for an IntFlag"],
)
def test_a_boolean_is_not_taken_for_an_enum_member_of_value_1_or_0(arguments: dict[str, Any], message: str) -> None:
    # true == 1 in Python, and pydantic looks members up by value: true would arrive as Priority.LOW.
    assert refusal("numbered", arguments).message == message


def test_integers_still_pick_int_enum_members() -> None:
    assert validate("numbered", {"priority": 2, "access": 3}) == {"priority": Priority.HIGH, "access": Access(3)}


def test_every_problem_is_named_in_one_message() -> None:
    failure = refusal("scalars", {"count": "1", "ratio": 0.5, "flag": "yes", "extra": 1})

    assert failure.message == (
        """scalars(): argument 'count' should be a valid integer, got "1"; missing required argument 'name' (str); """
        """argument 'flag' should be a valid boolean, got "yes"; unexpected argument 'extra'"""
    )


def test_nested_values_are_named_by_their_path() -> None:
    assert (
        refusal("containers", {"numbers": [1, "2"], "table": {}}).message
        == """containers(): argument 'numbers[1]' should be a valid integer, got "2\""""
    )
    assert (
        refusal("containers", {"numbers": {"0": 1}, "table": []}).message
        == """containers(): argument 'numbers' should be an array, got {"0": 1}; argument 'table' should be an object, got []"""
    )
    assert (
        refusal("containers", {"numbers": [], "table": {"a b": "x"}}).message
        == """containers(): argument 'table["a b"]' should be a valid number, got "x\""""
    )
    record = {"progress": {"step": 1}, "tree": {"label": "root", "children": [{"label": 3, "children": []}]}}
    message = refusal("records", {**record, "point": {"x": 1, "y": 2, "z": 3}, "person": {"name": "Ada"}}).message
    assert "argument 'progress.total' is missing" in message
    assert "argument 'tree.children[0].label' should be a valid string, got 3" in message
    assert "argument 'point.z' is not expected" in message


def test_a_union_is_described_by_its_annotation() -> None:
    assert refusal("choices", {"mode": "fast", "color": "red", "key": [1.5]}).message == (
        "choices(): argument 'key' should be int | str, got [1.5]"
    )
    assert refusal("choices", {"mode": "fast", "color": "red", "maybe": "x"}).message == (
        """choices(): argument 'maybe' should be a valid integer, got "x\""""
    )
    assert refusal("choices", {"mode": "medium", "color": "green"}).message == (
        """choices(): argument 'mode' should be 'fast' or 'slow', got "medium"; """
        """argument 'color' should be 'red' or 'blue', got "green\""""
    )


def test_a_long_value_is_cut_short_in_the_message() -> None:
    message = refusal("scalars", {**SCALARS, "count": "x" * 1000}).message

    assert message.endswith('got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…')
    assert len(message) < 120


def test_a_malformed_iso_date_is_refused() -> None:
    arguments = {
        "when": "yesterday",
        "day": "2024-01-02",
        "at": "10:00",
        "pair": [1, 2],
        "tags": [],
        "ratio": 1,
        "color": "red",
        "point": {"x": 1, "y": 2},
        "person": {"name": "Ada"},
        "progress": {"step": 1, "total": 2},
    }

    assert "argument 'when' should be a valid datetime" in refusal("echo_types", arguments).message


# --- converted -------------------------------------------------------------------------------------


def test_values_json_cannot_type_are_converted_to_the_annotated_types() -> None:
    arguments = validate(
        "echo_types",
        {
            "when": "2024-01-02T03:04:05Z",
            "day": "2024-01-02",
            "at": "10:30:00",
            "pair": [1, 2],
            "tags": ["a", "b", "a"],
            "ratio": 3,
            "color": "blue",
            "point": {"x": 1, "y": 2.5},
            "person": {"name": "Ada"},
            "progress": {"step": 1, "total": 2},
        },
    )

    assert arguments == {
        "when": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "day": datetime.date(2024, 1, 2),
        "at": datetime.time(10, 30),
        "pair": (1, 2),
        "tags": {"a", "b"},
        "ratio": 3.0,
        "color": Color.BLUE,
        "point": Point(1.0, 2.5),
        "person": Person(name="Ada", age=0),
        "progress": {"step": 1, "total": 2},
    }
    assert isinstance(arguments["ratio"], float)


def test_missing_optional_arguments_are_left_to_the_tools_defaults() -> None:
    assert validate("binary", {"payload": "AAE="}) == {"payload": b"\x00\x01"}


def test_a_numpy_argument_arrives_as_an_array() -> None:
    values = validate("array", {"values": [[1, 2], [3, 4]]})["values"]

    assert isinstance(values, np.ndarray)
    assert values.tolist() == [[1, 2], [3, 4]]


def test_keyword_arguments_take_unknown_keywords_checked_against_their_type() -> None:
    assert validate("keywords", {"a": 1, "rate": 2, "scale": 0.5}) == {"a": 1, "rate": 2.0, "scale": 0.5}
    assert "argument 'rate' should be a valid number" in refusal("keywords", {"a": 1, "rate": "2"}).message
    assert validate("any_keywords", {"a": 1, "anything": [None]}) == {"a": 1, "anything": [None]}


def test_untyped_and_any_parameters_take_any_json_value() -> None:
    value = {"nested": [1, "two", None, {"three": 3.5}]}

    assert validate("untyped", {"value": value}) == {"value": value}
    assert validate("anything", {"value": value}) == {"value": value}


def test_a_parameter_whose_default_is_none_takes_none_whatever_its_annotation() -> None:
    assert validate("snakepit_style", {"items": None, "limit": None}) == {"items": None, "limit": None}
    assert validate("snakepit_style", {"items": [1], "limit": 3}) == {"items": [1], "limit": 3}
    assert "argument 'limit' should be a valid integer" in refusal("snakepit_style", {"limit": "3"}).message


def test_no_arguments_at_all() -> None:
    assert TYPES["when"].validate(b"") == {}
    assert refusal("when", {"x": 1}).message == "when(): unexpected argument 'x'"


# --- lone surrogates -------------------------------------------------------------------------------


def test_strings_with_lone_surrogates_reach_the_tool_unchanged() -> None:
    # JSON.stringify writes a lone surrogate as an escape, which pydantic's own parser refuses.
    raw = b'{"value": {"\\ud800key": ["a\\udc00b", "plain"]}}'

    assert TYPES["anything"].validate(raw) == {"value": {"\ud800key": ["a\udc00b", "plain"]}}
    assert TYPES["scalars"].validate(b'{"count": 1, "ratio": 1, "name": "\\udfff", "flag": false}') == {
        "count": 1,
        "ratio": 1.0,
        "name": "\udfff",
        "flag": False,
    }


def test_a_lone_surrogate_where_it_cannot_be_put_back_is_refused_rather_than_changed() -> None:
    with pytest.raises(CallFailure) as raised:
        TYPES["records"].validate(
            b'{"progress": {"step": 1, "total": 1}, "tree": {"label": "x", "children": []},'
            b' "point": {"x": 1, "y": 1}, "person": {"name": "\\ud800"}}'
        )

    assert raised.value.code == "invalid_arguments"
    assert "lone surrogate" in raised.value.message


def test_a_refusal_names_the_string_with_a_lone_surrogate_as_sent() -> None:
    with pytest.raises(CallFailure) as raised:
        TYPES["scalars"].validate(b'{"count": "\\ud800", "ratio": 1, "name": "x", "flag": false}')

    assert raised.value.message == """scalars(): argument 'count' should be a valid integer, got "\\ud800\""""


# --- negative zero ---------------------------------------------------------------------------------


def same(value: object, expected: object) -> bool:
    """Equal, of the same type, and of the same sign where both are zero (0.0 == -0.0 == 0 in Python)."""
    return json.dumps(value) == json.dumps(expected) and type(value) is type(expected)


def test_negative_zero_keeps_its_sign_where_a_float_or_any_value_is_taken() -> None:
    # Node writes -0 as -0.0: a float keeps its sign.
    arguments = TYPES["scalars"].validate(b'{"count": 1, "ratio": -0.0, "name": "x", "flag": true}')
    assert same(arguments["ratio"], -0.0)
    assert same(TYPES["anything"].validate(b'{"value": [-0.0, {"z": -0.0}]}')["value"], [-0.0, {"z": -0.0}])


def test_negative_zero_is_zero_where_an_int_is_taken() -> None:
    # JavaScript has one zero for ints and floats; an int has no sign for zero to keep.
    arguments = TYPES["scalars"].validate(b'{"count": -0.0, "ratio": -0.0, "name": "x", "flag": true}')
    assert same(arguments["count"], 0)
    assert same(arguments["ratio"], -0.0)
    assert same(TYPES["keywords"].validate(b'{"a": -0.0, "b": -0.0}'), {"a": 0, "b": -0.0})


def test_a_fraction_is_still_refused_where_an_int_is_taken() -> None:
    assert "should be a valid integer, got -0.5" in refusal("scalars", {**SCALARS, "count": -0.5}).message
