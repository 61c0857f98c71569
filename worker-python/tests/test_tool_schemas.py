"""The JSON Schema of each tool's parameters and result, for every kind of annotation."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from snakepit_bridge import BaseAdapter, tool
from snakepit_bridge.base_adapter import tools_of
from snakepit_bridge.tool_types import ToolTypes, types_of, warm_up
from typed_tools import TypedTools

TYPES = types_of(tools_of(TypedTools()).values())


def parameters(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(TYPES[name].parameters_schema_json)
    return schema


def result(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(TYPES[name].result_schema_json)
    return schema


def properties(name: str) -> dict[str, Any]:
    found: dict[str, Any] = parameters(name)["properties"]
    return found


def test_parameters_are_an_object_of_keywords_naming_the_required_ones() -> None:
    schema = parameters("scalars")

    assert schema["type"] == "object"
    assert schema["title"] == "ScalarsArguments"
    assert schema["required"] == ["count", "ratio", "name", "flag"]
    assert schema["additionalProperties"] is False, "unknown keywords are refused"


def test_scalars() -> None:
    assert properties("scalars") == {
        "count": {"type": "integer"},
        "ratio": {"type": "number"},
        "name": {"type": "string"},
        "flag": {"type": "boolean"},
        "nothing": {"type": "null", "default": None},
    }
    assert result("scalars") == {"type": "string"}


def test_lists_dicts_tuples_and_optional() -> None:
    assert properties("containers") == {
        "numbers": {"type": "array", "items": {"type": "integer"}},
        "table": {"type": "object", "additionalProperties": {"type": "number"}},
        "pair": {
            "anyOf": [
                {
                    "type": "array",
                    "prefixItems": [{"type": "integer"}, {"type": "string"}],
                    "minItems": 2,
                    "maxItems": 2,
                },
                {"type": "null"},
            ],
            "default": None,
        },
    }
    assert result("containers") == {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "integer"}},
    }


def test_literal_enum_optional_and_union() -> None:
    schema = parameters("choices")

    assert schema["properties"]["mode"] == {"type": "string", "enum": ["fast", "slow"]}
    assert schema["properties"]["color"] == {"$ref": "#/$defs/Color"}
    assert schema["$defs"]["Color"] == {"title": "Color", "type": "string", "enum": ["red", "blue"]}
    assert schema["properties"]["maybe"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
    assert result("choices") == {"anyOf": [{"type": "integer"}, {"type": "string"}]}


def test_typed_dicts_of_the_standard_library_dataclasses_and_models() -> None:
    schema = parameters("records")
    definitions = schema["$defs"]

    assert schema["properties"] == {
        "progress": {"$ref": "#/$defs/Progress"},
        "tree": {"$ref": "#/$defs/TreeNode"},
        "point": {"$ref": "#/$defs/Point"},
        "person": {"$ref": "#/$defs/Person"},
    }
    assert definitions["Progress"] == {
        "title": "Progress",
        "description": "How far a job is.",
        "type": "object",
        "properties": {"step": {"type": "integer"}, "total": {"type": "integer"}, "note": {"type": "string"}},
        "required": ["step", "total"],
        "additionalProperties": False,
    }
    assert definitions["Point"]["description"] == "A point in the plane."
    assert definitions["Point"]["required"] == ["x", "y"]
    assert definitions["Person"]["properties"] == {"name": {"type": "string"}, "age": {"type": "integer", "default": 0}}


def test_a_recursive_typed_dict_refers_to_itself() -> None:
    tree = parameters("records")["$defs"]["TreeNode"]

    assert tree["properties"]["children"] == {"type": "array", "items": {"$ref": "#/$defs/TreeNode"}}


def test_a_result_that_is_a_typed_dict_brings_its_definitions() -> None:
    schema = result("records")

    assert schema["$ref"] == "#/$defs/Batch"
    assert set(schema["$defs"]) == {"Batch", "Progress", "Point"}
    assert schema["$defs"]["Batch"]["properties"]["points"] == {"type": "array", "items": {"$ref": "#/$defs/Point"}}


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("iterator", {"$ref": "#/$defs/Progress"}),
        ("generator", {"$ref": "#/$defs/Point"}),
        ("async_iterator", {"type": "integer"}),
        ("async_generator", {"type": "string"}),
        ("chunks", {"$ref": "#/$defs/Progress"}),
        ("mixed_chunks", {"anyOf": [{"$ref": "#/$defs/Progress"}, {"$ref": "#/$defs/Point"}]}),
    ],
)
def test_a_streaming_tool_is_described_by_the_data_of_each_chunk(name: str, data: dict[str, Any]) -> None:
    schema = result(name)
    schema.pop("$defs", None)

    assert schema == data


def test_no_annotation_and_any_mean_any_value() -> None:
    assert properties("untyped") == {"value": {}, "other": {"default": 3}}
    assert result("untyped") == {}
    assert properties("anything") == {"value": {}}
    assert result("anything") == {}
    assert result("bare_chunks") == {}
    assert result("unannotated_stream") == {}


def test_binary_results_carry_the_custom_keyword() -> None:
    assert result("binary") == {"type": "string", "format": "binary", "x-snakepit-type": "bytes"}
    assert result("binary_stream") == result("binary")
    assert result("arrays") == {"type": "object", "format": "ndarray", "x-snakepit-type": "ndarray"}
    assert result("array") == {
        "type": "object",
        "format": "ndarray",
        "x-snakepit-type": "ndarray",
        "x-snakepit-dtype": "float32",
    }


def test_binary_arguments_are_json_or_binary() -> None:
    # JSON clients send base64 text and lists; Node callers Uint8Arrays and typed arrays (binary_arguments.py).
    assert properties("binary")["payload"] == {
        "type": "string",
        "contentEncoding": "base64",
        "x-snakepit-type": "bytes",
    }
    assert properties("array")["values"] == {"type": "array", "x-snakepit-type": "ndarray"}


def test_dates_and_sets_in_arguments() -> None:
    described = properties("echo_types")

    assert described["when"] == {"type": "string", "format": "date-time"}
    assert described["day"] == {"type": "string", "format": "date"}
    assert described["at"] == {"type": "string", "format": "time"}
    assert described["tags"] == {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    assert result("when") == {"type": "string", "format": "date-time"}


def test_keyword_arguments_allow_other_keywords_of_their_type() -> None:
    assert parameters("keywords")["additionalProperties"] == {"type": "number"}
    assert parameters("any_keywords")["additionalProperties"] is True


@pytest.mark.parametrize(
    ("name", "parameter", "warnings"),
    [
        ("unresolvable", "amount", ["cannot resolve the annotation of parameter 'amount'", "'Decimal' is not defined"]),
        ("refused", "thing", ["cannot check parameter 'thing'", "cannot describe its result"]),
    ],
    ids=["cannot be resolved", "refused by pydantic"],
)
def test_an_annotation_that_cannot_be_used_is_any_value_with_a_warning(
    caplog: pytest.LogCaptureFixture, name: str, parameter: str, warnings: list[str]
) -> None:
    with caplog.at_level(logging.WARNING):
        types = types_of([tools_of(TypedTools())[name]])[name]
        described = json.loads(types.parameters_schema_json)["properties"]

    assert described == {parameter: {}, "count": {"type": "integer"}}
    assert json.loads(types.result_schema_json) == {}
    for warning in warnings:
        assert warning in caplog.text


class OneTool(BaseAdapter):
    @tool
    def typed(self, a: int, b: list[str] | None = None) -> dict[str, int]:
        return {"a": a}


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[ToolTypes]:
    """The ToolTypes that built their schemas, in order."""
    built: list[ToolTypes] = []
    original = ToolTypes._build

    def counting(self: ToolTypes) -> Any:
        built.append(self)
        return original(self)

    monkeypatch.setattr(ToolTypes, "_build", counting)
    return built


def test_types_are_built_once_and_only_when_first_needed(builds: list[ToolTypes]) -> None:
    types = ToolTypes(tools_of(OneTool())["typed"])
    assert builds == []

    types.validate(b'{"a": 1}')
    _ = types.parameters_schema_json, types.result_schema_json

    assert builds == [types]
    assert json.loads(types.result_schema_json) == {"type": "object", "additionalProperties": {"type": "integer"}}


def test_warm_up_builds_every_tool_in_the_background(builds: list[ToolTypes]) -> None:
    types = types_of(tools_of(OneTool()).values())

    warm_up(types.values()).join(timeout=10)

    assert builds == list(types.values())
    types["typed"].validate(b'{"a": 1}')
    assert len(builds) == 1, "a call after the warm-up finds the validator built"
