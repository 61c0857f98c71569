"""The tool's span: a child of the caller's span, current wherever the tool runs, with the call's outcome."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import support
from conftest import Bridge, StartBridge
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler, SamplingResult
from opentelemetry.trace import SpanKind, StatusCode
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.tracing import trace_id_of
from traced_adapters import TracedAdapter

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01"

_exporter = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def tracer_provider() -> None:
    # The global provider can be set once per process; this module is the one that sets it.
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_exporter))
    trace.set_tracer_provider(provider)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    _exporter.clear()
    yield _exporter
    _exporter.clear()


@pytest.fixture
def traced(start_bridge: StartBridge) -> Bridge:
    return start_bridge(adapter=TracedAdapter())


def metadata(traceparent: str | None = TRACEPARENT) -> tuple[tuple[str, str], ...]:
    return (("traceparent", traceparent), ("tracestate", "vendor=value")) if traceparent else ()


def request(bridge: Bridge, tool_name: str, **arguments: object) -> object:
    return bridge.request(tool_name, "call-7", **arguments)


def tool_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    found = [span for span in exporter.get_finished_spans() if span.name == "snakepit.tool"]
    assert len(found) == 1, [span.name for span in exporter.get_finished_spans()]
    return found[0]


def hex_ids(span: ReadableSpan) -> tuple[str, str, str | None]:
    context = span.get_span_context()
    assert context is not None
    parent = span.parent
    return (
        trace.format_trace_id(context.trace_id),
        trace.format_span_id(context.span_id),
        None if parent is None else trace.format_span_id(parent.span_id),
    )


def nested_library_spans(exporter: InMemorySpanExporter, tool: ReadableSpan) -> list[ReadableSpan]:
    steps = [span for span in exporter.get_finished_spans() if span.name == "library.step"]
    assert steps, "the tool made spans"
    tool_span_id = hex_ids(tool)[1]
    assert all(hex_ids(step)[2] == tool_span_id for step in steps), "library spans nest under the tool's span"
    return steps


@pytest.mark.parametrize("tool_name", ["count", "async_count"])
def test_a_streaming_tool_runs_in_a_child_of_the_callers_span(
    traced: Bridge, spans: InMemorySpanExporter, tool_name: str
) -> None:
    batches = list(
        traced.stub.ExecuteStreamingToolBatched(
            traced.request(tool_name, "call-7", n=3),
            metadata=metadata(),
            timeout=support.TIMEOUT,
        )
    )
    assert sum(len(json.loads(batch.json_run)) for batch in batches) == 3

    span = tool_span(spans)
    assert hex_ids(span)[0] == TRACE_ID
    assert hex_ids(span)[2] == CALLER_SPAN_ID
    assert span.kind is SpanKind.SERVER
    assert span.get_span_context().trace_state.get("vendor") == "value"
    assert dict(span.attributes or {}) == {
        "snakepit.tool": tool_name,
        "snakepit.call_id": "call-7",
        "snakepit.worker_id": "test-worker",
        "snakepit.outcome": "completed",
        "snakepit.chunks": 3,
    }
    assert len(nested_library_spans(spans, span)) == 3


@pytest.mark.parametrize("tool_name", ["add", "async_add"])
def test_a_unary_tool_runs_in_a_child_of_the_callers_span(
    traced: Bridge, spans: InMemorySpanExporter, tool_name: str
) -> None:
    response = traced.stub.ExecuteTool(
        traced.request(tool_name, "call-7", a=2, b=3), metadata=metadata(), timeout=support.TIMEOUT
    )
    assert response.result == b"5"

    span = tool_span(spans)
    assert hex_ids(span)[::2] == (TRACE_ID, CALLER_SPAN_ID)
    assert span.attributes is not None and span.attributes["snakepit.outcome"] == "completed"
    assert "snakepit.chunks" not in span.attributes
    nested_library_spans(spans, span)


def test_without_a_caller_the_tool_span_starts_a_trace(traced: Bridge, spans: InMemorySpanExporter) -> None:
    traced.stub.ExecuteTool(traced.request("add", a=1, b=1), metadata=metadata(None), timeout=support.TIMEOUT)

    span = tool_span(spans)
    assert span.parent is None
    assert hex_ids(span)[0] != TRACE_ID


def test_a_failure_is_the_spans_error(traced: Bridge, spans: InMemorySpanExporter) -> None:
    with pytest.raises(grpc.RpcError):
        list(
            traced.stub.ExecuteStreamingToolBatched(
                traced.request("fail_after", n=2), metadata=metadata(), timeout=support.TIMEOUT
            )
        )

    span = tool_span(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "python_error: diverged"
    assert span.attributes is not None
    assert (span.attributes["snakepit.outcome"], span.attributes["snakepit.error_code"]) == ("failed", "python_error")
    [exception] = [event for event in span.events if event.name == "exception"]
    assert exception.attributes is not None
    assert exception.attributes["exception.type"] == "ValueError"
    assert "Traceback" in str(exception.attributes["exception.stacktrace"])


def test_a_unary_failure_is_the_spans_error(traced: Bridge, spans: InMemorySpanExporter) -> None:
    with pytest.raises(grpc.RpcError):
        traced.stub.ExecuteTool(traced.request("fail"), metadata=metadata(), timeout=support.TIMEOUT)

    span = tool_span(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None and span.attributes["snakepit.error_code"] == "python_error"


@pytest.mark.parametrize(
    ("method", "tool_name", "arguments"),
    [("ExecuteTool", "add", {"a": 1, "b": 2}), ("ExecuteStreamingToolBatched", "count", {"n": 1})],
)
def test_a_call_refused_because_it_was_awaited_before_it_arrived_has_a_span_with_the_refusal(
    traced: Bridge, spans: InMemorySpanExporter, method: str, tool_name: str, arguments: dict[str, int]
) -> None:
    awaited = pb.AwaitCallRequest(call_id="overtaken-1", timeout_ms=1000)
    assert traced.stub.AwaitCall(awaited, timeout=support.TIMEOUT).ended
    call = getattr(traced.stub, method)
    request = traced.request(tool_name, "overtaken-1", **arguments)

    with pytest.raises(grpc.RpcError) as refused:
        list(call(request, metadata=metadata(), timeout=support.TIMEOUT))

    assert support.error_detail(refused.value).code == "cancelled"
    span = tool_span(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None and span.attributes["snakepit.error_code"] == "cancelled"


def test_a_cancelled_call_is_the_spans_outcome_not_an_error(
    traced: Bridge, spans: InMemorySpanExporter, probe: support.Probe
) -> None:
    call = traced.stub.ExecuteStreamingToolBatched(
        traced.request("until_cancelled", "call-9", probe=probe.key), metadata=metadata(), timeout=support.TIMEOUT
    )
    assert probe.wait("started")
    call.cancel()

    span = support.wait_until(lambda: [s for s in spans.get_finished_spans() if s.name == "snakepit.tool"])[0]
    assert span.attributes is not None and span.attributes["snakepit.outcome"] == "cancelled"
    assert span.status.status_code is StatusCode.UNSET


@pytest.mark.parametrize("give_up", ["cancel", "deadline"])
def test_a_unary_call_the_client_gave_up_on_is_the_spans_outcome(
    bridge: Bridge, spans: InMemorySpanExporter, probe: support.Probe, give_up: str
) -> None:
    request = bridge.request("wait_for_cancel", "call-9", probe=probe.key)
    timeout = support.TIMEOUT if give_up == "cancel" else 0.5
    call = bridge.stub.ExecuteTool.future(request, metadata=metadata(), timeout=timeout)
    assert probe.wait("started")
    if give_up == "cancel":
        assert call.cancel()

    assert probe.wait("observed"), "the tool saw its call end"
    span = support.wait_until(lambda: [s for s in spans.get_finished_spans() if s.name == "snakepit.tool"])[0]
    assert span.attributes is not None and span.attributes["snakepit.outcome"] == "cancelled"
    assert span.status.status_code is StatusCode.UNSET


# --- an SDK that raises: telemetry never changes or stalls a call -------------------------------------


class RaisingSampler(Sampler):
    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        raise RuntimeError("sampler bug")

    def get_description(self) -> str:
        return "raising"


class RaisingOnEnd(SpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("processor bug")


def use_provider(monkeypatch: pytest.MonkeyPatch, provider: TracerProvider) -> None:
    # The global provider is set once per process (see tracer_provider); the tool span finds it here.
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)


def calls_in_a_row(bridge: Bridge) -> tuple[list[Any], bytes, list[Any]]:
    """A stream, a unary call, then a stream again: each waits for the one before to release the worker."""

    def stream() -> list[Any]:
        batches = bridge.stub.ExecuteStreamingToolBatched(
            bridge.request("count", n=2), metadata=metadata(), timeout=support.TIMEOUT
        )
        return [value for batch in batches for value in json.loads(batch.json_run)]

    first = stream()
    result = bridge.stub.ExecuteTool(bridge.request("add", a=2, b=3), metadata=metadata(), timeout=support.TIMEOUT)
    return first, result.result, stream()


def test_a_sampler_that_raises_costs_the_calls_their_spans_only(
    bridge: Bridge, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    use_provider(monkeypatch, TracerProvider(sampler=RaisingSampler()))

    with caplog.at_level(logging.WARNING, logger="snakepit_bridge.tracing"):
        outcomes = calls_in_a_row(bridge)

    assert outcomes == ([{"seq": 0}, {"seq": 1}], b"5", [{"seq": 0}, {"seq": 1}])
    warnings = [record for record in caplog.records if record.name == "snakepit_bridge.tracing"]
    assert len(warnings) == 3
    assert all(record.exc_info and str(record.exc_info[1]) == "sampler bug" for record in warnings)


def test_a_span_processor_that_raises_on_end_changes_no_outcome(
    bridge: Bridge, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    provider.add_span_processor(RaisingOnEnd())
    use_provider(monkeypatch, provider)

    with caplog.at_level(logging.WARNING):
        outcomes = calls_in_a_row(bridge)

    assert outcomes == ([{"seq": 0}, {"seq": 1}], b"5", [{"seq": 0}, {"seq": 1}])
    ended = exported.get_finished_spans()
    assert [span.attributes and span.attributes["snakepit.outcome"] for span in ended] == ["completed"] * 3
    assert "processor bug" in caplog.text
    assert "Calling end() on an ended span" not in caplog.text, "each span is ended once"


def test_trace_ids_are_read_from_traceparent_only_when_well_formed() -> None:
    assert trace_id_of(TRACEPARENT) == TRACE_ID
    assert trace_id_of(None) == ""
    assert trace_id_of("00-" + "0" * 32 + "-00f067aa0ba902b7-01") == ""
    assert trace_id_of("not a traceparent") == ""
    assert trace_id_of(f"01-{TRACE_ID}-{CALLER_SPAN_ID}-01-future") == TRACE_ID
