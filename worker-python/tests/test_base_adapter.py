"""@tool, tool discovery from method signatures, and StreamChunk."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sample_adapters import SampleAdapter, VarArgsAdapter
from snakepit_bridge.adapters.showcase.tool import StreamChunk
from snakepit_bridge.base_adapter import BaseAdapter, ParameterInfo, ToolOptions, tool, tools_of


def options_of(function: Any) -> ToolOptions:
    return function.__snakepit_tool__


# --- the decorator ----------------------------------------------------------


def test_description_argument_wins_over_docstring() -> None:
    @tool(description="from the argument")
    def documented() -> None:
        """From the docstring."""

    assert options_of(documented).description == "from the argument"


def test_description_defaults_to_the_cleaned_docstring() -> None:
    @tool()
    def documented() -> None:
        """First line.

        Indented second paragraph.
        """

    assert options_of(documented).description == "First line.\n\nIndented second paragraph."


def test_description_is_empty_without_argument_or_docstring() -> None:
    @tool
    def bare() -> None:
        pass

    assert options_of(bare).description == ""


def test_tool_without_parentheses_marks_and_returns_the_function_itself() -> None:
    def plain(x: int) -> int:
        return x

    decorated = tool(plain)

    assert decorated is plain
    assert decorated(3) == 3
    assert options_of(plain) == ToolOptions(description="", supports_streaming=False)


def test_streaming_flag_is_recorded() -> None:
    @tool(supports_streaming=True)
    def stream() -> Any:
        yield 1

    @tool(description="unary")
    def unary() -> int:
        return 1

    assert options_of(stream).supports_streaming is True
    assert options_of(unary).supports_streaming is False


# --- discovery ----------------------------------------------------------------


def test_discovery_finds_exactly_the_decorated_methods() -> None:
    tools = tools_of(SampleAdapter())

    assert {"add", "echo", "async_add", "count", "async_count", "mixed", "ticker"} <= set(tools)
    assert "tools" not in tools
    assert all(name == info.name for name, info in tools.items())


def test_discovered_tools_are_bound_to_the_instance() -> None:
    adapter = SampleAdapter()

    assert tools_of(adapter)["add"].function(a=1, b=5) == 6
    assert tools_of(adapter)["add"].function.__self__ is adapter


def test_discovery_reports_description_and_streaming_flag() -> None:
    tools = tools_of(SampleAdapter())

    assert tools["add"].description.startswith("Adds two integers.")
    assert "second paragraph" in tools["add"].description
    assert tools["echo"].description == "Returns its argument unchanged"
    assert tools["count"].description == "Yields {seq} for seq in start..start+n-1"
    assert tools["count"].supports_streaming is True
    assert tools["add"].supports_streaming is False


def test_discovery_includes_inherited_tools() -> None:
    class Extended(SampleAdapter):
        @tool
        def extra(self) -> str:
            return "extra"

    tools = tools_of(Extended())

    assert {"add", "count", "extra"} <= set(tools)


def test_discovery_runs_once_per_instance() -> None:
    first, second = SampleAdapter(), SampleAdapter()

    assert tools_of(first) is tools_of(first)
    assert tools_of(first) is not tools_of(second)
    assert tools_of(second)["add"].function.__self__ is second


def test_parameters_come_from_the_signature_in_order_without_var_args() -> None:
    parameters = {p.name: p for p in tools_of(SampleAdapter())["signature_showcase"].parameters}

    assert list(parameters) == ["count", "name", "ratio", "flags", "values", "opaque", "untyped", "label"]
    assert "self" not in parameters and "rest" not in parameters and "extra" not in parameters
    assert parameters["count"] == ParameterInfo(name="count", type="int", required=True, default_json="")
    assert parameters["name"] == ParameterInfo(name="name", type="str", required=False, default_json='"snake"')
    assert parameters["ratio"] == ParameterInfo(name="ratio", type="float", required=False, default_json="0.5")
    assert parameters["flags"].default_json == "null"
    assert parameters["values"].default_json == "[]"
    # A keyword-only parameter is an ordinary keyword argument for Node.
    assert parameters["label"] == ParameterInfo(name="label", type="str", required=False, default_json='"kw"')


def test_parameter_without_annotation_has_type_any() -> None:
    parameters = {p.name: p for p in tools_of(SampleAdapter())["signature_showcase"].parameters}

    assert parameters["untyped"] == ParameterInfo(name="untyped", type="any", required=False, default_json="true")


def test_parameterised_annotations_keep_their_arguments() -> None:
    # The same signature must be reported alike whether or not its module postpones annotations.
    parameters = {p.name: p for p in tools_of(SampleAdapter())["signature_showcase"].parameters}

    assert parameters["values"].type == "list[float]"
    assert parameters["flags"].type == "Optional[list]"


def test_postponed_annotations_are_reported_as_written() -> None:
    # This module uses `from __future__ import annotations`: the signature holds strings.
    class Postponed(BaseAdapter):
        @tool
        def run(self, steps: int, tags: list[str] | None = None) -> None:
            pass

    parameters = tools_of(Postponed())["run"].parameters

    assert [(p.name, p.type) for p in parameters] == [("steps", "int"), ("tags", "list[str] | None")]


def test_default_that_is_not_json_has_empty_default_json_but_is_optional() -> None:
    parameters = {p.name: p for p in tools_of(SampleAdapter())["signature_showcase"].parameters}

    assert parameters["opaque"].required is False
    assert parameters["opaque"].default_json == ""


def test_default_json_is_valid_json() -> None:
    class Defaults(BaseAdapter):
        @tool
        def run(self, word: str = "héllo", nan: float = float("nan"), pair: tuple = (1, 2)) -> None:
            pass

    parameters = {p.name: p for p in tools_of(Defaults())["run"].parameters}

    assert json.loads(parameters["word"].default_json) == "héllo"
    assert json.loads(parameters["pair"].default_json) == [1, 2]
    # NaN is not JSON: Node could not parse it, so it is reported like any other non-JSON default.
    assert parameters["nan"].default_json == ""


def test_var_args_tools_report_only_named_parameters_and_accept_any_keyword() -> None:
    info = tools_of(VarArgsAdapter())["flexible"]

    assert [p.name for p in info.parameters] == ["a"]
    info.bind({"a": 1, "anything": 2})
    assert info.function(a=1, anything=2) == {"a": 1, "kwargs": {"anything": 2}}


def test_bind_names_an_unexpected_or_missing_keyword() -> None:
    info = tools_of(SampleAdapter())["add"]

    info.bind({"a": 1})
    with pytest.raises(TypeError, match="'c'"):
        info.bind({"a": 1, "c": 3})
    with pytest.raises(TypeError, match="'a'"):
        info.bind({"b": 3})


def test_generator_not_marked_streaming_is_discovered_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="snakepit_bridge.base_adapter"):
        tools = tools_of(SampleAdapter())

    assert tools["generator_not_marked"].supports_streaming is False
    assert any(
        "generator_not_marked" in record.getMessage() and "supports_streaming" in record.getMessage()
        for record in caplog.records
    )


# --- StreamChunk ----------------------------------------------------------------


def test_stream_chunk_defaults() -> None:
    first, second = StreamChunk({"a": 1}), StreamChunk(2)

    assert first.is_final is False
    assert first.metadata == {}
    first.metadata["k"] = "v"
    assert second.metadata == {}, "each chunk must get its own metadata dict"


def test_stream_chunk_accepts_string_metadata() -> None:
    chunk = StreamChunk("data", is_final=True, metadata={"stage": "eval", "ünïcode": "✓"})

    assert chunk.metadata == {"stage": "eval", "ünïcode": "✓"}
    assert chunk.is_final is True


@pytest.mark.parametrize(
    ("metadata", "named"),
    [({"epoch": 3}, "str: int"), ({1: "one"}, "int: str"), ({"loss": None}, "str: NoneType")],
)
def test_stream_chunk_refuses_non_string_metadata_and_names_the_types(metadata: dict[Any, Any], named: str) -> None:
    with pytest.raises(TypeError, match=named):
        StreamChunk("data", metadata=metadata)
