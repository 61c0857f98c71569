"""BridgeService end to end: a real gRPC server on 127.0.0.1 and a client channel, in this process."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from typing import Any

import grpc
import numpy as np
import pytest
import support
from conftest import ADAPTER_NAME, WORKER_ID, Bridge, StartBridge
from snakepit_bridge.base_adapter import BaseAdapter, tool
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.servicer import Limits

MIXED_VALUES = [
    {"kind": "json", "text": "héllo ✓"},
    b"\x00\x01\x02",
    [[1.5, 2.5], [3.5, 4.5]],
    {"kind": "with metadata"},
    42,
    {"kind": "last"},
]


def batched_values(batches: list[pb.ChunkBatch]) -> list[Any]:
    values: list[Any] = []
    for batch in batches:
        if batch.json_run:
            run = json.loads(batch.json_run)
            assert isinstance(run, list) and run, "json_run is a non-empty JSON array when present"
            values.extend(run)
        values.extend(support.decode_chunk(chunk) for chunk in batch.chunks)
    return values


def failure_of(call: Callable[[], Any]) -> tuple[grpc.RpcError, pb.ErrorDetail]:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value, support.error_detail(raised.value)


# --- Ping and ListTools -----------------------------------------------------------


def test_ping_echoes_and_identifies_the_worker(bridge: Bridge) -> None:
    echoed = bridge.stub.Ping(pb.PingRequest(message="hello"), timeout=support.TIMEOUT)
    default = bridge.stub.Ping(pb.PingRequest(), timeout=support.TIMEOUT)

    assert echoed.message == "hello"
    assert default.message == "pong"
    assert echoed.worker_id == WORKER_ID
    assert echoed.pid == os.getpid()


def test_list_tools_describes_the_adapter(bridge: Bridge) -> None:
    response = bridge.stub.ListTools(pb.ListToolsRequest(), timeout=support.TIMEOUT)
    tools = {spec.name: spec for spec in response.tools}

    assert response.adapter == ADAPTER_NAME
    assert tools["add"].description.startswith("Adds two integers.")
    assert tools["add"].supports_streaming is False
    assert [(p.name, p.type, p.required, p.default_json) for p in tools["add"].parameters] == [
        ("a", "int", True, ""),
        ("b", "int", False, "2"),
    ]
    assert tools["count"].supports_streaming is True
    assert tools["count"].description == "Yields {seq} for seq in start..start+n-1"
    assert "signature_showcase" in tools and "ticker" in tools


def test_list_tools_carries_the_schemas_of_parameters_and_results(bridge: Bridge) -> None:
    response = bridge.stub.ListTools(pb.ListToolsRequest(), timeout=support.TIMEOUT)
    tools = {spec.name: spec for spec in response.tools}

    assert json.loads(tools["add"].parameters_schema_json) == {
        "title": "AddArguments",
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer", "default": 2}},
        "required": ["a"],
        "additionalProperties": False,
    }
    assert json.loads(tools["add"].result_schema_json) == {"type": "integer"}
    assert json.loads(tools["count"].result_schema_json) == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }
    reading = json.loads(tools["calibrate"].result_schema_json)
    assert reading["$ref"] == "#/$defs/Reading"
    assert reading["$defs"]["Reading"]["required"] == ["value"]
    assert json.loads(tools["echo"].parameters_schema_json)["properties"] == {"value": {}}


def test_arguments_are_converted_to_the_annotated_types_before_the_tool_runs(bridge: Bridge) -> None:
    response = bridge.execute("calibrate", reading={"value": 1}, offset=2)

    # value: float, so the tool received 1.0, not 1, and returned a float.
    assert response.result == b'{"value":3.0,"unit":""}'


# --- ExecuteTool ----------------------------------------------------------------------


def test_execute_returns_compact_json(bridge: Bridge) -> None:
    response = bridge.execute("add", a=3, b=5)

    assert response.encoding == pb.ENCODING_JSON
    assert response.result == b"8"


def test_execute_uses_defaults_and_accepts_empty_arguments(bridge: Bridge) -> None:
    assert json.loads(bridge.execute("add", a=3).result) == 5
    assert json.loads(bridge.execute("pid").result) == os.getpid()


def test_execute_keeps_non_ascii_text(bridge: Bridge) -> None:
    response = bridge.execute("echo", value={"name": "héllo ✓ 世界", "n": [1, None]})

    assert response.result == '{"name":"héllo ✓ 世界","n":[1,null]}'.encode()


def test_execute_returns_none_as_null(bridge: Bridge) -> None:
    assert bridge.execute("echo", value=None).result == b"null"


def test_execute_async_tool(bridge: Bridge) -> None:
    assert json.loads(bridge.execute("async_add", a=3, b=4).result) == 7


def test_execute_returns_bytes_raw(bridge: Bridge) -> None:
    response = bridge.execute("raw_bytes", size=5)

    assert response.encoding == pb.ENCODING_BYTES
    assert response.result == b"\x00\x01\x02\x03\x04"


def test_execute_returns_numpy_arrays_raw(bridge: Bridge) -> None:
    response = bridge.execute("matrix", dtype="int16", rows=2, cols=3)

    assert response.encoding == pb.ENCODING_NDARRAY
    assert response.array.dtype == "int16"
    assert list(response.array.shape) == [2, 3]
    np.testing.assert_array_equal(np.frombuffer(response.result, dtype="<i2").reshape(2, 3), np.arange(6).reshape(2, 3))


def test_the_call_context_carries_call_and_session_ids(bridge: Bridge) -> None:
    request = pb.ExecuteToolRequest(tool_name="call_info", call_id="call-42", session_id="session-9")

    response = bridge.stub.ExecuteTool(request, timeout=support.TIMEOUT)

    assert json.loads(response.result) == {"call_id": "call-42", "session_id": "session-9", "tool_name": "call_info"}


def test_a_call_without_call_id_gets_one(bridge: Bridge) -> None:
    info = json.loads(
        bridge.stub.ExecuteTool(pb.ExecuteToolRequest(tool_name="call_info"), timeout=support.TIMEOUT).result
    )
    chunks = list(
        bridge.stub.ExecuteStreamingTool(
            pb.ExecuteToolRequest(tool_name="count", arguments=b'{"n": 2}'), timeout=support.TIMEOUT
        )
    )

    assert re.fullmatch(r"[0-9a-f]{32}", info["call_id"])
    prefix = chunks[0].chunk_id.rsplit("-", 1)[0]
    assert re.fullmatch(r"[0-9a-f]{32}", prefix)
    assert [chunk.chunk_id for chunk in chunks] == [f"{prefix}-0", f"{prefix}-1"]


def test_ping_answers_while_a_tool_call_runs(bridge: Bridge, probe: support.Probe) -> None:
    running = bridge.stub.ExecuteTool.future(
        bridge.request("wait_for_cancel", probe=probe.key), timeout=support.TIMEOUT
    )
    assert probe.wait("started")

    assert bridge.stub.Ping(pb.PingRequest(), timeout=support.TIMEOUT).worker_id == WORKER_ID

    running.cancel()
    assert probe.wait("observed")


# --- streaming ----------------------------------------------------------------------------


def test_streaming_sends_one_message_per_chunk_in_order(bridge: Bridge) -> None:
    chunks = bridge.stream("count", call_id="c1", n=5, start=10)

    assert [chunk.chunk_id for chunk in chunks] == [f"c1-{i}" for i in range(5)]
    assert [support.decode_chunk(chunk) for chunk in chunks] == [{"seq": seq} for seq in range(10, 15)]
    assert all(chunk.encoding == pb.ENCODING_JSON and not chunk.is_final for chunk in chunks)


def test_streaming_carries_every_kind_of_chunk_and_ends_at_the_final_one(bridge: Bridge) -> None:
    chunks = bridge.stream("mixed", call_id="m")

    assert [support.decode_chunk(chunk) for chunk in chunks] == MIXED_VALUES
    assert [chunk.chunk_id for chunk in chunks] == [f"m-{i}" for i in range(6)]
    assert [chunk.encoding for chunk in chunks] == [
        pb.ENCODING_JSON,
        pb.ENCODING_BYTES,
        pb.ENCODING_NDARRAY,
        pb.ENCODING_JSON,
        pb.ENCODING_JSON,
        pb.ENCODING_JSON,
    ]
    assert chunks[2].array.dtype == "float32" and list(chunks[2].array.shape) == [2, 2]
    assert dict(chunks[3].metadata) == {"stage": "train"}
    assert [chunk.is_final for chunk in chunks] == [False] * 5 + [True]
    assert dict(chunks[5].metadata) == {"epochs": "3"}


def test_batched_streaming_carries_the_same_chunks(bridge: Bridge) -> None:
    batches = bridge.stream_batched("mixed", call_id="m")

    assert batched_values(batches) == MIXED_VALUES
    special = [chunk for batch in batches for chunk in batch.chunks]
    assert [chunk.chunk_id for chunk in special] == ["m-1", "m-2", "m-3", "m-5"]
    assert special[-1].is_final and dict(special[-1].metadata) == {"epochs": "3"}


def test_batched_streaming_of_many_plain_chunks(bridge: Bridge) -> None:
    batches = bridge.stream_batched("count", n=5000)

    assert batched_values(batches) == [{"seq": seq} for seq in range(5000)]
    assert all(not batch.chunks for batch in batches)


def test_streaming_async_generator(bridge: Bridge) -> None:
    assert [support.decode_chunk(chunk) for chunk in bridge.stream("async_count", n=4)] == [
        {"seq": seq} for seq in range(4)
    ]
    assert batched_values(bridge.stream_batched("async_count", n=4)) == [{"seq": seq} for seq in range(4)]


def test_streaming_tool_returning_a_list(bridge: Bridge) -> None:
    items = [1, "two", {"three": 3}]

    assert [support.decode_chunk(chunk) for chunk in bridge.stream("returns_list", items=items)] == items


# --- errors -----------------------------------------------------------------------------------


def test_unknown_tool_is_not_found(bridge: Bridge) -> None:
    for call in (
        lambda: bridge.execute("no_such_tool"),
        lambda: bridge.stream("no_such_tool"),
        lambda: bridge.stream_batched("no_such_tool"),
    ):
        error, detail = failure_of(call)

        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert detail.code == "tool_not_found"
        assert "no_such_tool" in detail.message and ADAPTER_NAME in detail.message
        assert "add" in detail.hint and "count" in detail.hint
        assert detail.worker_id == WORKER_ID


def test_streaming_a_unary_tool_is_unimplemented(bridge: Bridge) -> None:
    for call in (lambda: bridge.stream("add", a=1), lambda: bridge.stream_batched("add", a=1)):
        error, detail = failure_of(call)

        assert error.code() == grpc.StatusCode.UNIMPLEMENTED
        assert detail.code == "not_streaming"
        assert "'add'" in detail.message


def test_executing_a_streaming_tool_is_a_failed_precondition(bridge: Bridge) -> None:
    error, detail = failure_of(lambda: bridge.execute("count", n=1))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert detail.code == "not_unary"
    assert detail.hint


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (b'{"a": 1, "c": 3}', "'c'"),
        (b'{"b": 3}', "'a'"),
        (b"[1, 2]", "JSON object"),
        (b'"a=1"', "JSON object"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
    ],
    ids=["unexpected keyword", "missing keyword", "array", "string", "malformed", "not utf-8"],
)
def test_invalid_arguments(bridge: Bridge, arguments: bytes, named: str) -> None:
    request = pb.ExecuteToolRequest(tool_name="add", arguments=arguments)

    error, detail = failure_of(lambda: bridge.stub.ExecuteTool(request, timeout=support.TIMEOUT))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert detail.code == "invalid_arguments"
    assert named in detail.message
    assert error.details() == detail.message


def test_invalid_arguments_to_a_streaming_tool(bridge: Bridge) -> None:
    request = pb.ExecuteToolRequest(tool_name="count", arguments=b'{"n": 1, "step": 2}')

    for rpc in (bridge.stub.ExecuteStreamingTool, bridge.stub.ExecuteStreamingToolBatched):
        error, detail = failure_of(lambda rpc=rpc: list(rpc(request, timeout=support.TIMEOUT)))

        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert detail.code == "invalid_arguments" and "'step'" in detail.message
        assert detail.hint == "parameters: n, start"


def test_a_tool_exception_is_a_python_error_with_traceback(bridge: Bridge) -> None:
    error, detail = failure_of(lambda: bridge.execute("fail", message="loss is nan"))

    assert error.code() == grpc.StatusCode.UNKNOWN
    assert error.details() == "loss is nan"
    assert detail.code == "python_error"
    assert detail.message == "loss is nan"
    assert detail.python_type == "sample_adapters.TrainingDiverged"
    assert "in fail" in detail.python_traceback
    assert detail.python_traceback.rstrip().endswith("sample_adapters.TrainingDiverged: loss is nan")
    assert detail.worker_id == WORKER_ID


@pytest.mark.parametrize("size", [30 * 1024, 1024 * 1024, 10 * 1024 * 1024])
def test_a_huge_exception_message_arrives_cut_to_fit_the_trailers(bridge: Bridge, size: int) -> None:
    message = "m" * size
    unary_error, unary_detail = failure_of(lambda: bridge.execute("fail", message=message))
    stream_error, stream_detail = failure_of(lambda: bridge.stream("fail_after", n=1, message=message))

    for error, detail in ((unary_error, unary_detail), (stream_error, stream_detail)):
        assert error.code() == grpc.StatusCode.UNKNOWN
        assert detail.code == "python_error"
        assert detail.python_type == "sample_adapters.TrainingDiverged"
        assert len(error.details().encode()) <= 1024
        assert len(detail.message.encode()) <= 2048
        assert re.search(r"… \[cut: [\d,]+ more characters\]$", detail.message)
        assert len(detail.python_traceback.encode()) <= 4096
        assert detail.python_traceback.startswith("Traceback (most recent call last):")


@pytest.mark.parametrize("tool_name", ["exits", "async_exits"])
def test_system_exit_in_a_unary_tool_is_a_python_error_that_says_so(bridge: Bridge, tool_name: str) -> None:
    error, detail = failure_of(lambda: bridge.execute(tool_name, code=3))

    assert error.code() == grpc.StatusCode.UNKNOWN
    assert detail.code == "python_error"
    assert detail.python_type == "SystemExit"
    assert detail.message == "the tool called sys.exit(3)"
    assert "cannot end its worker" in detail.hint
    assert bridge.execute("add", a=1).result == b"3", "the server still serves"
    assert bridge.execute("async_add", a=1, b=1).result == b"2", "async tools too"


@pytest.mark.parametrize("tool_name", ["exits_after", "async_exits_after"])
def test_system_exit_in_a_streaming_tool_is_a_python_error(bridge: Bridge, tool_name: str) -> None:
    received: list[Any] = []

    def consume() -> None:
        for chunk in bridge.stub.ExecuteStreamingTool(bridge.request(tool_name, n=2, code=4), timeout=support.TIMEOUT):
            received.append(support.decode_chunk(chunk))

    error, detail = failure_of(consume)

    assert received == [0, 1]
    assert error.code() == grpc.StatusCode.UNKNOWN
    assert detail.python_type == "SystemExit"
    assert detail.message == "the tool called sys.exit(4)"
    assert bridge.execute("async_add", a=1, b=1).result == b"2", "the worker's loop still runs"


def test_a_streaming_exception_comes_after_the_chunks_before_it(bridge: Bridge) -> None:
    request = bridge.request("fail_after", n=3, message="diverged at 3")
    received: list[Any] = []

    def consume() -> None:
        for chunk in bridge.stub.ExecuteStreamingTool(request, timeout=support.TIMEOUT):
            received.append(support.decode_chunk(chunk))

    error, detail = failure_of(consume)

    assert received == [{"seq": 0}, {"seq": 1}, {"seq": 2}]
    assert error.code() == grpc.StatusCode.UNKNOWN
    assert detail.code == "python_error"
    assert detail.python_type == "sample_adapters.TrainingDiverged"
    assert "diverged at 3" in detail.python_traceback


def test_a_batched_streaming_exception_comes_after_the_chunks_before_it(bridge: Bridge) -> None:
    request = bridge.request("fail_after", n=3)
    received: list[pb.ChunkBatch] = []

    def consume() -> None:
        for batch in bridge.stub.ExecuteStreamingToolBatched(request, timeout=support.TIMEOUT):
            received.append(batch)

    error, detail = failure_of(consume)

    assert batched_values(received) == [{"seq": 0}, {"seq": 1}, {"seq": 2}]
    assert error.code() == grpc.StatusCode.UNKNOWN and detail.code == "python_error"


@pytest.mark.parametrize(
    ("tool_name", "named"),
    [("opaque", "Opaque"), ("not_a_number", "float"), ("generator_not_marked", "returned a generator")],
)
def test_unencodable_unary_results_are_serialization_errors(bridge: Bridge, tool_name: str, named: str) -> None:
    error, detail = failure_of(lambda: bridge.execute(tool_name))

    assert error.code() == grpc.StatusCode.INTERNAL
    assert detail.code == "serialization_error"
    assert named in detail.message
    assert detail.hint


def test_an_unencodable_chunk_is_a_serialization_error_after_earlier_chunks(bridge: Bridge) -> None:
    received: list[Any] = []

    def consume() -> None:
        for chunk in bridge.stub.ExecuteStreamingTool(
            bridge.request("unencodable_after", n=2), timeout=support.TIMEOUT
        ):
            received.append(support.decode_chunk(chunk))

    error, detail = failure_of(consume)

    assert received == [{"seq": 0}, {"seq": 1}]
    assert error.code() == grpc.StatusCode.INTERNAL
    assert detail.code == "serialization_error" and "Opaque" in detail.message


def test_a_chunk_over_the_message_limit_is_chunk_too_large(start_bridge: StartBridge) -> None:
    bridge = start_bridge(limits=Limits(max_message_bytes=64 * 1024))

    for call in (
        lambda: bridge.stream("chunk_of", size=100_000),
        lambda: bridge.stream_batched("chunk_of", size=100_000),
    ):
        error, detail = failure_of(call)

        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert detail.code == "chunk_too_large"
        assert detail.hint


def test_a_unary_result_over_the_message_limit_is_chunk_too_large(start_bridge: StartBridge) -> None:
    bridge = start_bridge(limits=Limits(max_message_bytes=64 * 1024))

    error, detail = failure_of(lambda: bridge.execute("blob", size=100_000))

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert detail.code == "chunk_too_large"


def test_batches_stay_under_a_small_message_limit(start_bridge: StartBridge) -> None:
    limit = 64 * 1024
    bridge = start_bridge(limits=Limits(max_message_bytes=limit))

    batches = bridge.stream_batched("small_chunks", n=50_000, size=10)

    assert len(batched_values(batches)) == 50_000
    assert max(batch.ByteSize() for batch in batches) <= limit


# --- the token ----------------------------------------------------------------------------------


TOKEN = "s3cret-token"


@pytest.mark.parametrize(
    "metadata",
    [(), (("authorization", "Bearer wrong"),), (("authorization", TOKEN),), (("x-token", f"Bearer {TOKEN}"),)],
    ids=["none", "wrong", "no bearer prefix", "other key"],
)
def test_calls_without_the_right_token_are_unauthenticated(
    start_bridge: StartBridge, probe: support.Probe, metadata: tuple[tuple[str, str], ...]
) -> None:
    bridge = start_bridge(token=TOKEN)
    ticker = bridge.request("ticker", probe=probe.key)
    calls = [
        lambda: bridge.stub.Ping(pb.PingRequest(), metadata=metadata, timeout=support.TIMEOUT),
        lambda: bridge.stub.ListTools(pb.ListToolsRequest(), metadata=metadata, timeout=support.TIMEOUT),
        lambda: bridge.stub.ExecuteTool(bridge.request("add", a=1), metadata=metadata, timeout=support.TIMEOUT),
        lambda: list(bridge.stub.ExecuteStreamingTool(ticker, metadata=metadata, timeout=support.TIMEOUT)),
        lambda: list(bridge.stub.ExecuteStreamingToolBatched(ticker, metadata=metadata, timeout=support.TIMEOUT)),
    ]

    for call in calls:
        error, detail = failure_of(call)

        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert detail.code == "unauthenticated"
    assert not probe.is_set("started"), "a refused call must not run its tool"


def test_calls_with_the_right_token_pass(start_bridge: StartBridge) -> None:
    bridge = start_bridge(token=TOKEN)

    assert bridge.stub.Ping(pb.PingRequest(), metadata=bridge.metadata, timeout=support.TIMEOUT).worker_id == WORKER_ID
    assert json.loads(bridge.execute("add", a=1, b=2).result) == 3
    assert [support.decode_chunk(chunk) for chunk in bridge.stream("count", n=2)] == [{"seq": 0}, {"seq": 1}]
    assert batched_values(bridge.stream_batched("count", n=2)) == [{"seq": 0}, {"seq": 1}]


def test_without_a_token_the_server_accepts_any_call(bridge: Bridge) -> None:
    assert bridge.stub.Ping(pb.PingRequest(), timeout=support.TIMEOUT).message == "pong"
    assert bridge.stub.Ping(pb.PingRequest(), metadata=(("authorization", "Bearer x"),), timeout=support.TIMEOUT)


# --- requests that do not parse ---------------------------------------------------------------


@pytest.mark.parametrize("payload", support.MALFORMED_REQUESTS.values(), ids=support.MALFORMED_REQUESTS.keys())
@pytest.mark.parametrize("method", support.REQUEST_TYPES)
def test_a_request_that_does_not_parse_is_invalid_arguments_on_every_method(
    start_bridge: StartBridge, method: str, payload: bytes
) -> None:
    # grpcio answered INTERNAL "Exception deserializing request!" without an ErrorDetail, which a pool takes for
    # a broken connection; the bridge server says INVALID_ARGUMENT.
    bridge = start_bridge(token=TOKEN)
    error, detail = failure_of(lambda: support.call_with_bytes(bridge.channel, method, payload, bridge.metadata))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (detail.code, detail.message, detail.worker_id) == (
        "invalid_arguments",
        f"the request is not a valid {support.REQUEST_TYPES[method]} message",
        WORKER_ID,
    )
    assert detail.hint == "encode the request with stubs generated from proto/bridge.proto"
    assert bridge.stub.Ping(pb.PingRequest(), metadata=bridge.metadata, timeout=support.TIMEOUT).message == "pong"


# --- cancellation by the client ---------------------------------------------------------------


@pytest.mark.parametrize("tool_name", ["ticker", "async_ticker"])
@pytest.mark.parametrize("rpc_name", ["ExecuteStreamingTool", "ExecuteStreamingToolBatched"])
def test_client_cancellation_closes_the_generator(
    bridge: Bridge, probe: support.Probe, tool_name: str, rpc_name: str
) -> None:
    call = getattr(bridge.stub, rpc_name)(bridge.request(tool_name, probe=probe.key), timeout=support.TIMEOUT)
    next(call)
    assert probe.wait("started")

    call.cancel()

    assert probe.wait("closed"), "the generator's finally did not run"
    assert bridge.servicer.wait_idle(support.TIMEOUT)
    if tool_name == "ticker":
        assert probe.records("is_cancelled") == [True]


def test_client_cancellation_wakes_a_streaming_tool_waiting_on_its_call(bridge: Bridge, probe: support.Probe) -> None:
    call = bridge.stub.ExecuteStreamingTool(bridge.request("yield_then_wait", probe=probe.key), timeout=support.TIMEOUT)
    assert support.decode_chunk(next(call)) == {"state": "waiting"}
    assert probe.wait("waiting")

    call.cancel()

    assert probe.wait("closed")
    assert probe.records("is_cancelled") == [True]
    assert bridge.servicer.wait_idle(support.TIMEOUT)


def test_a_deadline_cancels_the_stream_and_closes_the_generator(bridge: Bridge, probe: support.Probe) -> None:
    call = bridge.stub.ExecuteStreamingTool(bridge.request("ticker", probe=probe.key), timeout=0.5)

    with pytest.raises(grpc.RpcError) as raised:
        for _ in call:
            pass

    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert probe.wait("closed")


@pytest.mark.parametrize("tool_name", ["wait_for_cancel", "async_wait_for_cancel"])
def test_client_cancellation_is_visible_to_a_unary_tool(bridge: Bridge, probe: support.Probe, tool_name: str) -> None:
    future = bridge.stub.ExecuteTool.future(bridge.request(tool_name, probe=probe.key), timeout=support.TIMEOUT)
    assert probe.wait("started")
    assert probe.records("is_cancelled") == []

    assert future.cancel()

    assert probe.wait("observed")
    assert probe.records("is_cancelled") == [True]


# --- AwaitCall: has a cancelled call's tool really stopped? -----------------------------------


def await_call(bridge: Bridge, call_id: str, timeout_ms: int = int(support.TIMEOUT * 1000)) -> bool:
    request = pb.AwaitCallRequest(call_id=call_id, timeout_ms=timeout_ms)
    return bridge.stub.AwaitCall(request, timeout=support.TIMEOUT + 5).ended


def test_await_call_of_an_unknown_call_has_ended(bridge: Bridge) -> None:
    assert await_call(bridge, "never-started") is True


def test_await_call_times_out_while_the_tool_runs(bridge: Bridge, probe: support.Probe) -> None:
    running = bridge.stub.ExecuteTool.future(bridge.request("wait_for_cancel", "busy-1", probe=probe.key))
    assert probe.wait("started")

    assert await_call(bridge, "busy-1", timeout_ms=100) is False

    running.cancel()
    assert await_call(bridge, "busy-1") is True
    assert probe.is_set("observed")


@pytest.mark.parametrize("tool_name", ["ticker", "async_ticker"])
def test_await_call_ends_after_a_cancelled_stream_closed_its_generator(
    bridge: Bridge, probe: support.Probe, tool_name: str
) -> None:
    call = bridge.stub.ExecuteStreamingToolBatched(bridge.request(tool_name, "stream-1", probe=probe.key))
    next(call)

    call.cancel()

    assert await_call(bridge, "stream-1") is True
    assert probe.is_set("closed")


def test_await_call_ends_after_a_cancelled_async_tool_finished_cleaning_up(
    bridge: Bridge, probe: support.Probe
) -> None:
    running = bridge.stub.ExecuteTool.future(bridge.request("async_slow_cleanup", "slow-1", probe=probe.key))
    assert probe.wait("started")

    running.cancel()

    assert await_call(bridge, "slow-1") is True
    assert probe.is_set("closed"), "AwaitCall reported the call ended while its tool was still cleaning up"


@pytest.mark.parametrize("method", ["ExecuteTool", "ExecuteStreamingToolBatched"])
def test_a_call_awaited_before_it_arrived_never_starts(bridge: Bridge, probe: support.Probe, method: str) -> None:
    # The pool awaits only calls it cancelled; a request overtaken by its own AwaitCall is one.
    assert await_call(bridge, "overtaken-1") is True
    tool_name = "wait_for_cancel" if method == "ExecuteTool" else "ticker"
    call = getattr(bridge.stub, method)
    error, detail = failure_of(lambda: list(call(bridge.request(tool_name, "overtaken-1", probe=probe.key))))
    assert error.code() == grpc.StatusCode.CANCELLED
    assert detail.code == "cancelled"
    assert not probe.is_set("started")
    # Only that call: the next one with another id runs.
    assert bridge.execute("add", a=1, b=2).result == b"3"


def test_an_unknown_tool_name_is_quoted_cut_short(bridge: Bridge) -> None:
    error, detail = failure_of(lambda: bridge.execute("n" * 200_000))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert detail.message == f"no tool named {'n' * 64!r}… (200000 characters) in {ADAPTER_NAME}"


@pytest.mark.parametrize("method", ["ExecuteTool", "ExecuteStreamingToolBatched"])
def test_arguments_nested_too_deep_to_decode_are_invalid(bridge: Bridge, method: str) -> None:
    depth = 100_000
    raw = b'{"value":' + b"[" * depth + b"]" * depth + b"}"
    request = pb.ExecuteToolRequest(tool_name="echo" if method == "ExecuteTool" else "count", arguments=raw)
    error, detail = failure_of(lambda: list(getattr(bridge.stub, method)(request, timeout=support.TIMEOUT)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert detail.code == "invalid_arguments"


def test_a_call_is_acknowledged_before_its_tool_runs(bridge: Bridge, probe: support.Probe) -> None:
    # A pool retries a call whose worker died without acknowledging it: the tool must not have run then.
    # (Python's client reads a unary call's initial metadata only with its response: a stream shows it.)
    call = bridge.stub.ExecuteStreamingToolBatched(bridge.request("wait_then_yield", "ack-1", probe=probe.key))
    assert probe.wait("started")
    acknowledged = threading.Event()
    threading.Thread(target=lambda: (call.initial_metadata(), acknowledged.set()), daemon=True).start()
    assert acknowledged.wait(support.TIMEOUT), "no initial metadata while the tool runs"
    assert not probe.is_set("observed")
    call.cancel()


class _KeywordTools(BaseAdapter):
    @tool
    def options(self, a: int, **rest: int) -> object:
        return {"a": a, **rest}

    @tool
    def positional(self, a: int, /, b: int = 0, **rest: int) -> object:
        return {"a": a, "b": b, "rest": rest}


def _raw_call(bridge: Bridge, tool_name: str, arguments: dict[str, object]) -> pb.ExecuteToolResponse:
    request = pb.ExecuteToolRequest(tool_name=tool_name, arguments=json.dumps(arguments).encode(), call_id="call")
    return bridge.stub.ExecuteTool(request, metadata=bridge.metadata, timeout=support.TIMEOUT)


def test_a_keyword_that_names_the_adapter_itself_is_an_unexpected_argument_not_a_python_error(
    start_bridge: StartBridge,
) -> None:
    bridge = start_bridge(adapter=_KeywordTools())
    _, detail = failure_of(lambda: _raw_call(bridge, "options", {"a": 1, "self": 2}))
    assert (detail.code, detail.message) == ("invalid_arguments", "options(): unexpected argument 'self'")
    assert json.loads(_raw_call(bridge, "options", {"a": 1, "b": 2}).result) == {"a": 1, "b": 2}


def test_positional_only_parameters_are_given_by_name_as_every_parameter_is(start_bridge: StartBridge) -> None:
    bridge = start_bridge(adapter=_KeywordTools())
    result = _raw_call(bridge, "positional", {"a": 1, "b": 2, "c": 3}).result
    assert json.loads(result) == {"a": 1, "b": 2, "rest": {"c": 3}}
