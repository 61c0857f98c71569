"""Health checking and reflection, seen through the stock clients of grpcio-health-checking and grpcio-reflection."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

import grpc
import pytest
import support
from conftest import Bridge, SpawnWorker, StartBridge
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from test_worker_process import serving_port

TOKEN = "reflect-me"
BRIDGE_SERVICE = "snakepit_rx.bridge.v1.BridgeService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class _WithToken(grpc.UnaryUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):  # type: ignore[misc]
    """Adds the bearer token to every call of a channel: the reflection client takes a channel, not metadata."""

    def __init__(self, token: str) -> None:
        self._metadata = (("authorization", f"Bearer {token}"),)

    def _details(self, details: Any) -> Any:
        return details._replace(metadata=tuple(details.metadata or ()) + self._metadata)

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_stream(self, continuation: Callable[..., Any], details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)


def check(channel: grpc.Channel, service: str) -> int:
    response = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), timeout=support.TIMEOUT
    )
    return int(response.status)


def reflected_methods(channel: grpc.Channel) -> tuple[list[str], list[str]]:
    """The services the server lists, and the methods of BridgeService resolved from its descriptors."""
    database = ProtoReflectionDescriptorDatabase(channel)
    services = sorted(database.get_services())
    pool = descriptor_pool.DescriptorPool(database)
    methods = [method.name for method in pool.FindServiceByName(BRIDGE_SERVICE).methods]
    return services, methods


@pytest.fixture
def guarded(start_bridge: StartBridge) -> Bridge:
    return start_bridge(token=TOKEN)


def test_health_answers_without_the_token(guarded: Bridge) -> None:
    assert check(guarded.channel, "") == SERVING
    assert check(guarded.channel, BRIDGE_SERVICE) == SERVING
    with pytest.raises(grpc.RpcError) as unknown:
        check(guarded.channel, "no.such.Service")
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_watch_hears_not_serving_when_the_server_drains(guarded: Bridge) -> None:
    statuses: list[int] = []
    heard_not_serving = threading.Event()
    watch = health_pb2_grpc.HealthStub(guarded.channel).Watch(
        health_pb2.HealthCheckRequest(service=BRIDGE_SERVICE), timeout=support.TIMEOUT
    )

    def read() -> None:
        for response in watch:
            statuses.append(int(response.status))
            if response.status == NOT_SERVING:
                heard_not_serving.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    support.wait_until(lambda: statuses == [SERVING])
    guarded.health.draining()
    assert heard_not_serving.wait(support.TIMEOUT)
    assert statuses == [SERVING, NOT_SERVING]
    watch.cancel()
    reader.join(support.TIMEOUT)
    # Once draining, it stays so.
    assert check(guarded.channel, "") == NOT_SERVING


def test_reflection_lists_the_contract_and_resolves_its_methods_with_the_token(guarded: Bridge) -> None:
    channel = grpc.intercept_channel(guarded.channel, _WithToken(TOKEN))
    services, methods = reflected_methods(channel)
    assert services == sorted([BRIDGE_SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"])
    assert {"Ping", "ListTools", "ExecuteTool", "ExecuteStreamingTool", "ExecuteStreamingToolBatched"} <= set(methods)


def test_reflection_refuses_a_missing_or_wrong_token(guarded: Bridge) -> None:
    for channel in (guarded.channel, grpc.intercept_channel(guarded.channel, _WithToken("wrong"))):
        with pytest.raises(grpc.RpcError) as refused:
            ProtoReflectionDescriptorDatabase(channel).get_services()
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_serve_answers_health_and_reflection_and_turns_not_serving_when_stopped(spawn_worker: SpawnWorker) -> None:
    worker = spawn_worker(
        "serve", "--adapter", "sample_adapters.SampleAdapter", "--port", "0", env={"SNAKEPIT_TOKEN": TOKEN}
    )
    with grpc.insecure_channel(f"127.0.0.1:{serving_port(worker)}") as channel:
        assert check(channel, "") == SERVING
        assert check(channel, BRIDGE_SERVICE) == SERVING
        services, methods = reflected_methods(grpc.intercept_channel(channel, _WithToken(TOKEN)))
        assert BRIDGE_SERVICE in services and "ExecuteTool" in methods

        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=""), timeout=support.TIMEOUT
        )
        assert next(watch).status == SERVING
        worker.process.send_signal(signal.SIGTERM)
        assert next(watch).status == NOT_SERVING
        watch.cancel()
    assert worker.wait() == 0
