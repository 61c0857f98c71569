"""Snakepit 0.13's adapter API on BaseAdapter: @tool's arguments, ToolMetadata, get_tools, call_tool,
session_context and session_id, initialize/cleanup, tools served through execute_tool, and chunk
wrappers of the adapter's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest
import support
from conftest import Bridge, SpawnWorker, StartBridge
from snakepit_bridge import SessionContext, ToolMetadata
from snakepit_bridge.base_adapter import BaseAdapter, tool, tools_of
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.snakepit_api import run_lifecycle_hook
from snakepit_style_adapters import OwnNames, SnakepitStyleAdapter


@pytest.fixture
def adapter() -> SnakepitStyleAdapter:
    return SnakepitStyleAdapter()


@pytest.fixture
def served(start_bridge: StartBridge, adapter: SnakepitStyleAdapter) -> Bridge:
    run_lifecycle_hook(adapter, "initialize")
    return start_bridge(adapter=adapter)


def result(response: pb.ExecuteToolResponse) -> Any:
    return json.loads(response.result)


# --- @tool and ToolMetadata ------------------------------------------------------------------------


def test_tool_takes_snakepit_s_arguments_and_keeps_them_in_tool_metadata() -> None:
    metadata = SnakepitStyleAdapter.with_required_variables._tool_metadata  # type: ignore[attr-defined]
    assert metadata == ToolMetadata(
        description="Needs a session variable", supports_streaming=False, parameters=[], required_variables=["api_key"]
    )
    assert tools_of(SnakepitStyleAdapter())["described_positionally"].description == "Described positionally"


def test_a_method_given_snakepit_s_tool_metadata_by_hand_is_a_tool() -> None:
    class HandMade(BaseAdapter):
        def streamed(self, n: int) -> Any:
            yield from range(n)

        streamed._tool_metadata = ToolMetadata(description="by hand", supports_streaming=True)  # type: ignore[attr-defined]

    found = tools_of(HandMade())["streamed"]
    assert (found.description, found.supports_streaming) == ("by hand", True)


def test_tool_metadata_has_snakepit_s_defaults() -> None:
    assert ToolMetadata() == ToolMetadata("", False, [], [])


# --- tools served through execute_tool --------------------------------------------------------------


def test_execute_tool_handlers_are_listed_beside_tool_methods(adapter: SnakepitStyleAdapter) -> None:
    tools = tools_of(adapter)
    assert {"ctx_add", "ctx_session", "ctx_countdown", "is_initialized", "stream_data"} <= set(tools)
    add = tools["ctx_add"]
    assert (add.description, add.supports_streaming) == ("Adds two numbers.", False)
    assert [(p.name, p.type, p.required, p.default_json) for p in add.parameters] == [
        ("a", "float", True, ""),
        ("b", "float", False, "1.0"),
    ]
    assert tools["ctx_countdown"].supports_streaming
    # A @tool method wins over a handler of the same name.
    assert [p.name for p in tools["ctx_echo"].parameters] == ["message"]


def test_an_adapter_without_execute_tool_serves_only_its_tool_methods() -> None:
    class Plain(BaseAdapter):
        def __init__(self) -> None:
            self.registry = {"hidden": type("Entry", (), {"func": staticmethod(lambda ctx: 1)})()}

        @tool
        def shown(self) -> int:
            return 1

    assert list(tools_of(Plain())) == ["shown"]


def test_a_handler_tool_runs_through_execute_tool_with_the_call_s_session_context(served: Bridge) -> None:
    assert result(served.execute("ctx_add", a=40, b=2)) == 42
    request = served.request("ctx_session")
    request.session_id = "session-7"
    response = served.stub.ExecuteTool(request, metadata=served.metadata, timeout=support.TIMEOUT)
    assert result(response) == {"session_id": "session-7", "context_type": "SessionContext"}


def test_a_streaming_handler_tool_streams_the_adapter_s_own_chunks_and_ends_at_the_final_one(served: Bridge) -> None:
    chunks = served.stream("ctx_countdown", start=3)
    assert [json.loads(chunk.data) for chunk in chunks] == [{"value": 3}, {"value": 2}, {"value": 1}]
    assert [chunk.is_final for chunk in chunks] == [False, False, True]


def test_handler_tools_check_their_arguments_against_the_handler_s_signature(served: Bridge) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        served.execute("ctx_add", c=1)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_an_adapter_may_use_the_names_tools_and_session_id_for_its_own_attributes(start_bridge: StartBridge) -> None:
    served = start_bridge(adapter=OwnNames())

    request = served.request("double", value=21)
    request.session_id = "session-3"
    response = served.stub.ExecuteTool(request, metadata=served.metadata, timeout=support.TIMEOUT)

    assert result(response) == {"doubled": 42, "session_id": "session-3"}
    assert result(served.execute("own_session_id")) == "session-3"


# --- get_tools, call_tool, session_context, session_id -------------------------------------------------


def test_get_tools_lists_every_tool_with_snakepit_s_attributes(adapter: SnakepitStyleAdapter) -> None:
    tools = {found.name: found for found in adapter.get_tools()}
    assert tools["stream_data"].supports_streaming and tools["stream_data"].description == "Streams the showcase's way"
    assert [p.name for p in tools["ctx_add"].parameters] == ["a", "b"]


def test_call_tool_calls_methods_and_handlers_by_name(served: Bridge) -> None:
    assert result(served.execute("via_call_tool", a=1)) == {
        "method": "ok",
        "handler": 3,
        "tools": sorted(tools_of(SnakepitStyleAdapter())),
    }
    with pytest.raises(AttributeError, match="Tool 'nope' not found in SnakepitStyleAdapter"):
        SnakepitStyleAdapter().call_tool("nope")


def test_set_session_context_is_called_before_each_call_and_session_id_reads_the_call_s(
    served: Bridge, adapter: SnakepitStyleAdapter
) -> None:
    request = served.request("session_info")
    request.session_id = "abc"
    response = served.stub.ExecuteTool(request, metadata=served.metadata, timeout=support.TIMEOUT)
    assert result(response) == {"session_id": "abc", "context_session_id": "abc", "is_session_context": True}
    assert [context.session_id for context in adapter.contexts_seen] == ["abc"]


def test_session_context_outside_a_call_is_the_one_set_last() -> None:
    adapter = BaseAdapter()
    assert adapter.session_context is None and adapter.session_id is None
    adapter.set_session_context(SessionContext(None, "s-1"))
    assert adapter.session_id == "s-1"


# --- initialize and cleanup ------------------------------------------------------------------------


def test_initialize_may_be_async_and_runs_before_serving(served: Bridge) -> None:
    assert result(served.execute("is_initialized")) is True


def test_a_worker_initializes_its_adapter_at_start_and_cleans_it_up_when_it_stops(
    spawn_worker: SpawnWorker, tmp_path: Path
) -> None:
    marker = tmp_path / "events"
    worker = spawn_worker(
        "worker",
        "--adapter",
        "snakepit_style_adapters.SnakepitStyleAdapter",
        env={"SNAKEPIT_TOKEN": "t", "SNAKEPIT_STYLE_MARKER": str(marker)},
    )
    worker.handshake("SNAKEPIT_READY ")
    assert marker.read_text(encoding="utf-8") == "initialize\n"
    assert worker.process.stdin is not None
    worker.process.stdin.close()
    assert worker.wait() == 0
    assert marker.read_text(encoding="utf-8") == "initialize\ncleanup\n"


def test_a_failing_initialize_fails_the_worker_s_start_with_python_s_message(spawn_worker: SpawnWorker) -> None:
    worker = spawn_worker("worker", "--adapter", "snakepit_style_adapters.FailingInitialize")
    report = worker.handshake("SNAKEPIT_FAILED ")
    assert (report["type"], report["message"]) == ("RuntimeError", "no model file")


# --- chunk wrappers of the adapter's own ------------------------------------------------------------


def test_streaming_tools_may_yield_any_object_with_data_and_is_final(served: Bridge) -> None:
    chunks = served.stream("stream_data", count=2)
    assert [(json.loads(c.data), c.is_final) for c in chunks] == [
        ({"index": 1, "total": 2}, False),
        ({"index": 2, "total": 2}, True),
    ]
    annotated = served.stream("annotated")
    assert [(json.loads(c.data), c.is_final, dict(c.metadata)) for c in annotated] == [
        ({"step": 1}, False, {}),
        ({"step": 2}, True, {"model": "v1"}),
    ]


def test_a_chunk_wrapper_whose_metadata_is_not_str_to_str_is_a_serialization_error(served: Bridge) -> None:
    with pytest.raises(grpc.RpcError) as failed:
        served.stream("bad_metadata")
    assert failed.value.code() == grpc.StatusCode.INTERNAL
    assert "must map str to str" in (failed.value.details() or "")


def test_a_dict_with_data_and_is_final_keys_is_data_not_a_chunk_wrapper(bridge: Bridge) -> None:
    [chunk] = bridge.stream("returns_list", items=[{"data": 1, "is_final": True}])
    assert json.loads(chunk.data) == {"data": 1, "is_final": True}
    assert not chunk.is_final
