"""Tools calling their host's tools, on the call's own stream (the ...WithHostTools methods).

Here the host is this test, answering HostToolCalls as a Node pool would.
"""

from __future__ import annotations

import datetime
import json
import queue
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
import support
from conftest import Bridge, StartBridge
from host_tool_adapters import HostCallingAdapter
from snakepit_bridge.grpc_services import BRIDGE_SERVICE_NAME
from snakepit_bridge.host_tools import HostToolCancelledError, HostToolChannel, HostToolError, HostToolNotFoundError
from snakepit_bridge.proto import bridge_pb2 as pb

HOST_TOOLS = ("double", "fail", "never_answers")


def answer(call: pb.HostToolCall) -> pb.HostToolResult | None:
    """The host: doubles, fails, or never answers."""
    arguments = json.loads(call.arguments)
    if call.name == "double":
        return pb.HostToolResult(id=call.id, result=json.dumps(arguments["value"] * 2).encode())
    if call.name == "fail":
        return pb.HostToolResult(
            id=call.id, error=pb.HostToolFailure(message=f"refused: {arguments['reason']}", type="TypeError")
        )
    return None


class HostSide:
    """One call on a ...WithHostTools method: its messages, the host calls it saw, and how it ended."""

    def __init__(self, bridge: Bridge, method: str, tool: str, *, half_close: bool = False, **arguments: Any) -> None:
        self.outgoing: queue.Queue[pb.HostMessage | None] = queue.Queue()
        request = bridge.request(tool, **arguments)
        request.host_tools.extend(HOST_TOOLS)
        self.outgoing.put(pb.HostMessage(request=request))
        if half_close:
            self.outgoing.put(None)
        self.host_calls: list[pb.HostToolCall] = []
        self.call = getattr(bridge.stub, method)(self._messages(), metadata=bridge.metadata, timeout=support.TIMEOUT)

    def _messages(self) -> Iterator[pb.HostMessage]:
        while (message := self.outgoing.get()) is not None:
            yield message

    def run(self, on_host_call: Callable[[pb.HostToolCall], None] = lambda call: None) -> list[pb.ToolMessage]:
        received: list[pb.ToolMessage] = []
        try:
            for message in self.call:
                if message.HasField("host_call"):
                    self.host_calls.append(message.host_call)
                    on_host_call(message.host_call)
                    result = answer(message.host_call)
                    if result is not None:
                        self.outgoing.put(pb.HostMessage(host_result=result))
                else:
                    received.append(message)
        finally:
            self.outgoing.put(None)
        return received


@pytest.fixture
def host_bridge(start_bridge: StartBridge) -> Bridge:
    return start_bridge(adapter=HostCallingAdapter())


def unary(bridge: Bridge, tool: str, **arguments: Any) -> Any:
    messages = HostSide(bridge, "ExecuteToolWithHostTools", tool, **arguments).run()
    assert len(messages) == 1 and messages[0].HasField("result")
    return json.loads(messages[0].result.result)


def streamed(bridge: Bridge, tool: str, **arguments: Any) -> list[Any]:
    messages = HostSide(bridge, "ExecuteStreamingToolWithHostTools", tool, **arguments).run()
    values: list[Any] = []
    for message in messages:
        values.extend(json.loads(message.batch.json_run) if message.batch.json_run else [])
    return values


def test_a_unary_tool_calls_a_host_tool_by_snakepit_s_name(host_bridge: Bridge) -> None:
    assert unary(host_bridge, "double_on_host", value=21) == 42


def test_the_session_context_lists_the_host_tools(host_bridge: Bridge) -> None:
    assert unary(host_bridge, "listed_host_tools") == sorted(HOST_TOOLS)


def test_an_async_tool_awaits_a_host_tool(host_bridge: Bridge) -> None:
    assert unary(host_bridge, "async_double_on_host", value=5) == 10


def test_streaming_tools_call_host_tools_between_chunks(host_bridge: Bridge) -> None:
    assert streamed(host_bridge, "stream_host_results", n=5) == [0, 2, 4, 6, 8]
    assert streamed(host_bridge, "async_stream_host_results", n=3) == [0, 2, 4]


def test_a_host_tool_s_error_raises_in_python_with_its_message(host_bridge: Bridge) -> None:
    assert unary(host_bridge, "host_failure") == {
        "type": "HostToolError",
        "message": "refused: bad input",
        "error_type": "TypeError",
    }


def test_an_unregistered_host_tool_raises_a_clear_value_error_without_asking_the_host(host_bridge: Bridge) -> None:
    side = HostSide(host_bridge, "ExecuteToolWithHostTools", "unknown_host_tool")
    [message] = side.run()
    result = json.loads(message.result.result)
    assert result["type"] == "HostToolNotFoundError"
    assert (
        "no host tool named 'no_such_tool'" in result["message"] and "double, fail, never_answers" in result["message"]
    )
    assert side.host_calls == []


def test_cancelling_the_call_cancels_a_host_tool_call_in_python(host_bridge: Bridge, probe: support.Probe) -> None:
    side = HostSide(host_bridge, "ExecuteToolWithHostTools", "wait_on_host", probe=probe.key)
    asked = threading.Event()
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            side.run(lambda call: asked.set())
        except grpc.RpcError as error:
            outcome.append(error)

    runner = threading.Thread(target=run)
    runner.start()
    assert asked.wait(support.TIMEOUT)
    side.call.cancel()
    runner.join(support.TIMEOUT)
    assert [error.code() for error in outcome] == [grpc.StatusCode.CANCELLED]  # type: ignore[attr-defined]
    support.wait_until(lambda: probe.records("cancelled"))
    assert probe.records("cancelled") == ["HostToolCancelledError"]


def test_the_plain_methods_give_a_tool_no_host_tools(host_bridge: Bridge) -> None:
    response = host_bridge.execute("listed_host_tools")
    assert json.loads(response.result) == []
    with pytest.raises(grpc.RpcError) as failed:
        host_bridge.execute("double_on_host", value=1)
    assert "no host tool named 'double'" in (failed.value.details() or "")


def test_a_channel_refuses_arguments_json_cannot_carry() -> None:
    channel = HostToolChannel(["double"], lambda: None)
    with pytest.raises(TypeError, match="cannot be sent as JSON"):
        channel.request("double", {"value": float("nan")})
    assert channel.take_requests() == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (2**60, 'arguments["value"] is the integer 1152921504606846976, beyond ±(2^53-1)'),
        (10**400, 'arguments["value"] is the integer'),
        ({1: "a", "1": "b"}, 'arguments["value"] is a dict whose keys 1 and \'1\' are both written "1"'),
    ],
    ids=["integer beyond 2^53", "integer beyond a double", "keys that JSON would merge"],
)
def test_a_channel_refuses_arguments_node_would_receive_changed(value: object, message: str) -> None:
    channel = HostToolChannel(["double"], lambda: None)
    with pytest.raises(TypeError, match=re.escape(message)):
        channel.request("double", {"value": value})
    assert channel.take_requests() == []


def test_a_channel_sends_arguments_in_the_json_forms_results_take() -> None:
    channel = HostToolChannel(["double"], lambda: None)
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    channel.request("double", {"when": when, "pair": (1, 2), "zero": -0.0, "key": {1: "a"}})
    [(_, _, arguments)] = channel.take_requests()
    assert json.loads(arguments) == {
        "when": "2024-01-02T03:04:05+00:00",
        "pair": [1, 2],
        "zero": -0.0,
        "key": {"1": "a"},
    }


def test_a_channel_refuses_arguments_over_the_message_limit_before_sending_them() -> None:
    channel = HostToolChannel(["double"], lambda: None, max_arguments_bytes=1000)
    with pytest.raises(ValueError, match=r"arguments of host tool 'double' are 1012 bytes of JSON, over the 1000-byte"):
        channel.request("double", {"value": "x" * 1000})
    assert channel.take_requests() == []
    channel.request("double", {"value": "x" * 900})
    assert len(channel.take_requests()) == 1


def test_a_closed_channel_fails_pending_and_later_calls() -> None:
    channel = HostToolChannel(["double"], lambda: None)
    pending = channel.request("double", {"value": 1})
    channel.close("the call ended")
    with pytest.raises(HostToolCancelledError, match="the call ended"):
        pending.result(support.TIMEOUT)
    with pytest.raises(HostToolError):
        channel.call("double", {"value": 1})
    with pytest.raises(HostToolNotFoundError):
        channel.call("triple", {"value": 1})


def test_answer_readers_end_with_their_calls(host_bridge: Bridge) -> None:
    unary(host_bridge, "double_on_host", value=1)
    before = threading.active_count()
    for value in range(20):
        assert unary(host_bridge, "double_on_host", value=value) == 2 * value
        assert streamed(host_bridge, "stream_host_results", n=2) == [0, 2]
    support.wait_until(lambda: threading.active_count() <= before)


def test_a_client_that_stops_sending_still_gets_the_result_and_its_tool_s_host_calls_fail(host_bridge: Bridge) -> None:
    side = HostSide(host_bridge, "ExecuteToolWithHostTools", "host_failure", half_close=True)
    [message] = side.run()
    assert json.loads(message.result.result) == {
        "type": "HostToolCancelledError",
        "message": "the call ended",
        "error_type": "",
    }


def test_a_host_answer_that_does_not_parse_fails_the_tool_s_host_call_saying_so(host_bridge: Bridge) -> None:
    request = host_bridge.request("host_failure")
    request.host_tools.extend(HOST_TOOLS)
    outgoing: queue.Queue[bytes | None] = queue.Queue()
    outgoing.put(pb.HostMessage(request=request).SerializeToString())
    call = host_bridge.channel.stream_stream(f"/{BRIDGE_SERVICE_NAME}/ExecuteToolWithHostTools")(
        iter(outgoing.get, None), timeout=support.TIMEOUT
    )
    try:
        assert pb.ToolMessage.FromString(next(call)).host_call.name == "fail"
        outgoing.put(support.MALFORMED_REQUESTS["garbage"])
        [message] = [pb.ToolMessage.FromString(data) for data in call]
    finally:
        outgoing.put(None)
    assert json.loads(message.result.result) == {
        "type": "HostToolCancelledError",
        "message": "the host sent a message that is not a valid HostMessage",
        "error_type": "",
    }
