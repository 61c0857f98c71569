"""A worker runs one call's tool at a time: calls that come meanwhile (several pools sharing a `serve`
endpoint) wait their turn, up to what its threads leave, while Ping and health checks keep answering."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest
import support
from conftest import BRIDGE_THREADS, Bridge, StartBridge
from grpc_health.v1 import health_pb2, health_pb2_grpc
from snakepit_bridge.call_admission import waiting_room
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.servicer import Limits


class Running:
    """A call whose tool waits, after its first chunk, until the call is cancelled."""

    def __init__(self, bridge: Bridge) -> None:
        self.probe = support.new_probe()
        self._call = bridge.stub.ExecuteStreamingTool(
            bridge.request("yield_then_wait", call_id="first", probe=self.probe.key), metadata=bridge.metadata
        )
        next(self._call)
        assert self.probe.wait("waiting")

    def cancel(self) -> None:
        self._call.cancel()


@pytest.fixture
def running(start_bridge: StartBridge) -> Iterator[tuple[Bridge, Running]]:
    bridge = start_bridge()
    first = Running(bridge)
    yield bridge, first
    first.cancel()


def unary(bridge: Bridge, call_id: str, timeout: float = support.TIMEOUT) -> grpc.Future:
    request = bridge.request("add", call_id=call_id, a=1, b=2)
    future: grpc.Future = bridge.stub.ExecuteTool.future(request, metadata=bridge.metadata, timeout=timeout)
    return future


def test_a_call_that_comes_while_another_runs_waits_for_its_tool_to_end(
    running: tuple[Bridge, Running],
) -> None:
    bridge, first = running
    second = unary(bridge, "second")
    support.wait_until(lambda: bridge.servicer.admission.waiting == 1)
    assert not second.done()

    first.cancel()

    assert json.loads(second.result(support.TIMEOUT).result) == 3
    assert first.probe.is_set("closed")


def test_waiting_calls_run_in_the_order_they_came(running: tuple[Bridge, Running]) -> None:
    bridge, first = running
    probe = support.new_probe()
    calls = []
    for count, name in enumerate(("second", "third", "fourth"), start=1):
        request = bridge.request("note", call_id=name, probe=probe.key, name=name)
        calls.append(bridge.stub.ExecuteTool.future(request, metadata=bridge.metadata, timeout=support.TIMEOUT))
        support.wait_until(lambda count=count: bridge.servicer.admission.waiting == count)

    first.cancel()

    for call in calls:
        call.result(support.TIMEOUT)
    # The order the tools ran in: a call's answer leaves after the next call may start, so answers may cross.
    assert probe.records("ran") == ["second", "third", "fourth"]


def test_a_waiting_call_whose_client_gives_up_leaves_its_place(running: tuple[Bridge, Running]) -> None:
    bridge, first = running
    cancelled = unary(bridge, "cancelled")
    support.wait_until(lambda: bridge.servicer.admission.waiting == 1)
    cancelled.cancel()
    support.wait_until(lambda: bridge.servicer.admission.waiting == 0)
    timed_out = unary(bridge, "timed-out", timeout=0.2)
    with pytest.raises(grpc.RpcError) as expired:
        timed_out.result(support.TIMEOUT)
    assert expired.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    support.wait_until(lambda: bridge.servicer.admission.waiting == 0)

    first.cancel()

    assert json.loads(unary(bridge, "after").result(support.TIMEOUT).result) == 3


def test_beyond_what_its_threads_leave_calls_are_refused_and_ping_and_health_still_answer(
    running: tuple[Bridge, Running],
) -> None:
    bridge, first = running
    room = waiting_room(BRIDGE_THREADS)
    waiting = [unary(bridge, f"waiting-{index}") for index in range(room)]
    support.wait_until(lambda: bridge.servicer.admission.waiting == room)

    refused = [unary(bridge, f"refused-{index}") for index in range(BRIDGE_THREADS)]

    for call in refused:
        with pytest.raises(grpc.RpcError) as saturated:
            call.result(support.TIMEOUT)
        assert saturated.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert support.error_detail(saturated.value).code == "pool_saturated"
    pong = bridge.stub.Ping(pb.PingRequest(), metadata=bridge.metadata, timeout=support.TIMEOUT)
    assert pong.capacity == 1
    health = health_pb2_grpc.HealthStub(bridge.channel).Check(health_pb2.HealthCheckRequest(), timeout=support.TIMEOUT)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    first.cancel()
    assert [json.loads(call.result(support.TIMEOUT).result) for call in waiting] == [3] * room


def test_a_server_that_keeps_no_waiting_room_refuses_a_second_call_at_once(start_bridge: StartBridge) -> None:
    bridge = start_bridge(limits=Limits(max_waiting_calls=0))
    first = Running(bridge)

    with pytest.raises(grpc.RpcError) as saturated:
        unary(bridge, "second").result(support.TIMEOUT)

    assert support.error_detail(saturated.value).code == "pool_saturated"
    first.cancel()
