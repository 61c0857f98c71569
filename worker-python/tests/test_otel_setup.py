"""A worker sets OpenTelemetry up from the standard OTEL_* variables, as opentelemetry-instrument would."""

from __future__ import annotations

import json

import pytest
import support
from conftest import SpawnWorker
from snakepit_bridge import otel_setup, parent_pipe
from snakepit_bridge.proto import bridge_pb2 as pb
from test_worker_process import OpenStub, start_ready

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_SERVICE_NAME": "svc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_LOGS_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_only_an_exporter_named_in_the_environment_asks_for_opentelemetry(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: bool
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert otel_setup.wanted() is expected


def console_export(schedule_delay_ms: int) -> dict[str, str]:
    """Spans exported by the console exporter, in batches sent every schedule_delay_ms."""
    return {
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": "snakepit-spec",
        "OTEL_BSP_SCHEDULE_DELAY": str(schedule_delay_ms),
    }


def test_a_worker_exports_the_tool_span_to_the_exporter_the_environment_names(
    spawn_worker: SpawnWorker, channels: OpenStub
) -> None:
    environment = console_export(schedule_delay_ms=10)
    worker, ready = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter", env=environment)
    stub = channels(ready["port"])
    request = pb.ExecuteToolRequest(tool_name="add", arguments=b'{"a": 1, "b": 2}', call_id="p-1")

    response = stub.ExecuteTool(request, metadata=(("traceparent", TRACEPARENT),), timeout=support.TIMEOUT)

    assert json.loads(response.result) == 3
    # The console exporter prints each span as indented JSON on the worker's stdout, which is its stderr.
    support.wait_until(lambda: '"name": "snakepit.tool"' in worker.stderr)
    assert f'"trace_id": "0x{TRACE_ID}"' in worker.stderr
    assert '"service.name": "snakepit-spec"' in worker.stderr


def test_a_stopping_worker_exports_the_spans_its_exporter_still_holds(
    spawn_worker: SpawnWorker, channels: OpenStub
) -> None:
    # The batch would wait ten minutes: only the worker's flush at exit (it ends with os._exit) exports it.
    worker, ready = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter", env=console_export(600_000))
    stub = channels(ready["port"])
    request = pb.ExecuteToolRequest(tool_name="add", arguments=b'{"a": 1, "b": 2}', call_id="p-1")
    assert json.loads(stub.ExecuteTool(request, timeout=support.TIMEOUT).result) == 3
    assert worker.process.stdin is not None

    worker.process.stdin.write(parent_pipe.STOP_LINE)
    worker.process.stdin.close()

    assert worker.wait() == 0
    worker.stop()  # joins the readers: stderr is whole
    assert '"name": "snakepit.tool"' in worker.stderr
