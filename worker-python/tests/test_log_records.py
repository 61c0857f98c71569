"""Log records: JSON lines with the call they were made in for a pool's child, text with the call's ids for serve."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest
import support
from conftest import SpawnWorker
from snakepit_bridge.call_context import CallContext
from snakepit_bridge.log_records import LOG_PREFIX, MAX_LINE_CHARS, CallFilter, RecordFormatter
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.tracing import UntracedSpan
from test_worker_process import READY, OpenStub, start_ready

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def record(message: str, level: int = logging.INFO, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("my.module", level, __file__, 1, message, None, exc_info)  # type: ignore[arg-type]


def parsed(line: str) -> dict[str, object]:
    assert line.startswith(LOG_PREFIX)
    assert "\n" not in line
    fields: dict[str, object] = json.loads(line[len(LOG_PREFIX) :])
    return fields


def test_a_record_outside_a_call_has_level_logger_message_and_time() -> None:
    fields = parsed(RecordFormatter().format(record("ready")))

    assert set(fields) == {"level", "logger", "message", "time"}
    assert (fields["level"], fields["logger"], fields["message"]) == ("INFO", "my.module", "ready")


def test_a_record_inside_a_call_carries_its_id_tool_and_trace_id() -> None:
    call = CallContext(call_id="pool-3", tool_name="train", session_id="", span=UntracedSpan(TRACE_ID))
    with call.active():
        fields = parsed(RecordFormatter().format(record("epoch 1\nloss 0.3", logging.WARNING)))

    assert fields["callId"] == "pool-3"
    assert fields["tool"] == "train"
    assert fields["traceId"] == TRACE_ID
    assert fields["message"] == "epoch 1\nloss 0.3"
    assert fields["level"] == "WARNING"


def test_an_exception_travels_in_the_message() -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        with_traceback = parsed(RecordFormatter().format(record("failed", logging.ERROR, sys.exc_info())))

    assert str(with_traceback["message"]).startswith("failed\nTraceback (most recent call last):")
    assert "ValueError: bad value" in str(with_traceback["message"])


@pytest.mark.parametrize("character", ["x", "é", "\n"])
def test_a_huge_message_is_cut_to_fit_one_line_the_pool_reads_whole_saying_how_much_was_cut(character: str) -> None:
    original = character * 100_000
    line = RecordFormatter().format(record(original))
    message = str(parsed(line)["message"])

    assert len(line) <= MAX_LINE_CHARS
    cut = re.fullmatch(r"(.*)… \[(\d+) more characters cut\]", message, re.DOTALL)
    assert cut is not None
    assert original.startswith(cut.group(1))
    assert len(cut.group(1)) + int(cut.group(2)) == len(original)
    assert len(cut.group(1)) > 5_000, "as much as fits is kept"


def test_a_huge_logger_or_level_name_is_cut_and_the_record_still_fits_one_line() -> None:
    huge = record("named at length")
    huge.name = "models." + "x" * 70_000
    huge.levelname = "L" * 5_000

    line = RecordFormatter().format(huge)

    assert len(line) <= MAX_LINE_CHARS
    fields = parsed(line)
    assert fields["message"] == "named at length"
    assert re.fullmatch(r"models\.x+… \[\d+ more characters cut\]", str(fields["logger"]))
    assert re.fullmatch(r"L+… \[3976 more characters cut\]", str(fields["level"]))


def test_serve_text_names_the_call_and_its_trace() -> None:
    formatter = logging.Formatter("%(levelname)s%(snakepit_call)s %(message)s")
    call_filter = CallFilter()
    outside = record("idle")
    call_filter.filter(outside)
    call = CallContext(call_id="c-1", tool_name="t", session_id="", span=UntracedSpan(TRACE_ID))
    with call.active():
        inside = record("busy")
        call_filter.filter(inside)

    assert formatter.format(outside) == "INFO idle"
    assert formatter.format(inside) == f"INFO [call=c-1 trace={TRACE_ID}] busy"


def test_a_child_worker_logs_records_as_json_lines_at_its_log_level_without_importing_opentelemetry(
    spawn_worker: SpawnWorker, channels: OpenStub
) -> None:
    worker, ready = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter", "--worker-id", "w-7")
    stub = channels(ready["port"])
    call = pb.ExecuteToolRequest(tool_name="log_warning", arguments=b'{"message": "disk almost full"}', call_id="p-1")

    response = stub.ExecuteTool(call, metadata=(("traceparent", TRACEPARENT),), timeout=support.TIMEOUT)

    assert json.loads(response.result) is False, "a worker without an SDK never imports OpenTelemetry"
    line = support.wait_until(lambda: next((x for x in worker.stderr.splitlines() if "disk almost full" in x), None))
    fields = parsed(line)
    assert fields["level"] == "WARNING"
    assert fields["logger"] == "sample_adapters"
    assert (fields["callId"], fields["tool"], fields["traceId"]) == ("p-1", "log_warning", TRACE_ID)


def test_log_level_lets_info_records_through(spawn_worker: SpawnWorker, channels: OpenStub) -> None:
    worker = spawn_worker("serve", "--adapter", "sample_adapters.SampleAdapter", "--port", "0", "--log-level", "info")
    ready = worker.handshake(READY)

    support.wait_until(lambda: "serving sample_adapters.SampleAdapter" in worker.stderr)
    assert f"INFO [{ready['worker_id']}] snakepit_bridge: serving" in worker.stderr
    assert LOG_PREFIX not in worker.stderr, "a standalone worker logs text"
