"""The modules Snakepit's adapters import: logging_config, telemetry and serialization, used as its
documentation and showcase use them."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pytest
from conftest import StartBridge
from snakepit_bridge import telemetry
from snakepit_bridge.call_context import CallContext
from snakepit_bridge.log_records import WORKER_HANDLER_NAME
from snakepit_bridge.logging_config import configure_logging, get_logger
from snakepit_bridge.serialization import TypeSerializer
from snakepit_style_adapters import SnakepitStyleAdapter

# --- logging_config --------------------------------------------------------------------------------


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    logging.disable(logging.NOTSET)
    root.handlers[:] = handlers
    root.setLevel(level)


def test_get_logger_gives_snakepit_s_logger_names() -> None:
    assert get_logger("my_adapter").name == "snakepit.my_adapter"
    assert get_logger("snakepit_bridge.adapters.x").name == "snakepit.bridge.adapters.x"
    assert get_logger("snakepit.pool").name == "snakepit.pool"


def test_configure_logging_reads_snakepit_log_level(monkeypatch: pytest.MonkeyPatch, restored_logging: None) -> None:
    monkeypatch.setenv("SNAKEPIT_LOG_LEVEL", "debug")
    configure_logging(force=True)
    assert get_logger("test").isEnabledFor(logging.DEBUG)
    monkeypatch.setenv("SNAKEPIT_LOG_LEVEL", "none")
    configure_logging(force=True)
    assert not get_logger("test").isEnabledFor(logging.ERROR)


def test_inside_a_worker_the_worker_s_handler_and_level_stay(
    monkeypatch: pytest.MonkeyPatch, restored_logging: None
) -> None:
    # The pool reads records through the worker's handler, and sets the level with its logLevel option.
    root = logging.getLogger()
    worker_handler = logging.StreamHandler()
    worker_handler.set_name(WORKER_HANDLER_NAME)
    root.handlers[:] = [worker_handler]
    root.setLevel(logging.DEBUG)
    monkeypatch.delenv("SNAKEPIT_LOG_LEVEL", raising=False)
    configure_logging(force=True)
    assert root.handlers == [worker_handler]
    assert root.level == logging.DEBUG
    monkeypatch.setenv("SNAKEPIT_LOG_LEVEL", "error")
    configure_logging(force=True)
    assert root.handlers == [worker_handler]
    assert root.level == logging.ERROR


def test_records_carry_the_call_s_id_as_correlation_id(restored_logging: None) -> None:
    configure_logging()
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = get_logger("correlated")
    logger.addHandler(Keep())
    logger.warning("outside")
    with CallContext(call_id="pool-1", tool_name="t", session_id="").active():
        logger.warning("inside")
    assert [getattr(record, "correlation_id", None) for record in records] == ["-", "pool-1"]


# --- telemetry -------------------------------------------------------------------------------------


class Recording(telemetry.TelemetryBackend):
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any], dict[str, Any], str | None]] = []

    def emit(
        self,
        event_name: str,
        measurements: Mapping[str, object],
        metadata: Mapping[str, object] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.events.append((event_name, dict(measurements), dict(metadata or {}), correlation_id))


@pytest.fixture
def recording() -> Iterator[Recording]:
    backend = Recording()
    previous = telemetry.get_backend()
    telemetry.set_backend(backend)
    yield backend
    telemetry.set_backend(previous)


def test_span_emits_start_and_stop_with_its_duration(recording: Recording) -> None:
    with telemetry.span("inference", {"model": "m"}, "corr-1"):
        telemetry.emit("inference.tokens", {"count": 3})
    names = [event[0] for event in recording.events]
    assert names == ["inference.start", "inference.tokens", "inference.stop"]
    assert recording.events[2][1]["duration"] >= 0 and recording.events[2][2] == {"model": "m"}
    assert recording.events[2][3] == "corr-1"


def test_span_emits_an_exception_event_and_re_raises(recording: Recording) -> None:
    with pytest.raises(ValueError), telemetry.span("step"):
        raise ValueError("bad")
    assert recording.events[-1][0] == "step.exception"
    assert recording.events[-1][2] == {"error_type": "ValueError", "error_message": "bad"}


def test_correlation_ids_default_to_the_call_s_and_can_be_set() -> None:
    assert telemetry.get_correlation_id("none") == "none"
    with CallContext(call_id="pool-9", tool_name="t", session_id="").active():
        assert telemetry.get_correlation_id() == "pool-9"
        token = telemetry.set_correlation_id("mine")
        assert telemetry.outgoing_metadata([("a", "b")]) == [("a", "b"), (telemetry.CORRELATION_HEADER, "mine")]
        telemetry.reset_correlation_id(token)
        assert telemetry.get_correlation_id() == "pool-9"
    assert len(telemetry.new_correlation_id()) == 32


def test_the_default_backend_logs_one_json_line_per_event(caplog: pytest.LogCaptureFixture) -> None:
    assert telemetry.is_enabled()
    with caplog.at_level(logging.INFO, logger="snakepit_bridge.telemetry"):
        telemetry.emit("cache.hit", {"count": 1}, {"key": "k"}, "c-1")
    [line] = [record.getMessage() for record in caplog.records if record.name == "snakepit_bridge.telemetry"]
    assert json.loads(line) == {
        "event": "cache.hit",
        "measurements": {"count": 1},
        "metadata": {"key": "k"},
        "correlation_id": "c-1",
    }


def test_set_backend_none_turns_telemetry_off(recording: Recording) -> None:
    telemetry.set_backend(None)
    assert not telemetry.is_enabled()
    telemetry.emit("ignored", {})
    assert recording.events == []


def test_a_tool_uses_telemetry_as_the_showcase_does(start_bridge: StartBridge, recording: Recording) -> None:
    bridge = start_bridge(adapter=SnakepitStyleAdapter())
    response = bridge.stub.ExecuteTool(bridge.request("telemetry_demo", call_id="call-42"), metadata=bridge.metadata)
    assert json.loads(response.result) == {"correlation_id": "call-42", "telemetry_enabled": True}
    assert [event[0] for event in recording.events] == [
        "tool.execution.start",
        "tool.execution.start",
        "tool.execution.stop",
    ]
    assert {event[3] for event in recording.events} == {"call-42"}


# --- serialization ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "var_type"),
    [(1.5, "float"), (7, "integer"), ("text", "string"), (True, "boolean"), ("b", "choice"), ({"a": [1]}, "map")],
)
def test_type_serializer_round_trips_json_types(value: Any, var_type: str) -> None:
    encoded, binary = TypeSerializer.encode_any(value, var_type)
    assert binary is None and encoded.type_url == f"type.googleapis.com/snakepit.{var_type}"
    assert TypeSerializer.decode_any(encoded) == value


def test_special_floats_travel_as_snakepit_s_strings() -> None:
    for value, text in ((math.inf, b'"Infinity"'), (-math.inf, b'"-Infinity"')):
        encoded, _ = TypeSerializer.encode_any(value, "float")
        assert encoded.value == text and TypeSerializer.decode_any(encoded) == value
    encoded, _ = TypeSerializer.encode_any(math.nan, "float")
    assert math.isnan(TypeSerializer.decode_any(encoded))


def test_a_small_tensor_is_json_and_decodes_to_a_numpy_array() -> None:
    encoded, binary = TypeSerializer.encode_any(np.arange(6.0).reshape(2, 3), "tensor")
    assert binary is None
    decoded = TypeSerializer.decode_any(encoded)
    assert isinstance(decoded, np.ndarray) and decoded.shape == (2, 3) and decoded.tolist() == [[0, 1, 2], [3, 4, 5]]


def test_large_tensors_and_embeddings_travel_as_raw_float64_never_pickle() -> None:
    embedding = [float(i) for i in range(2000)]
    encoded, binary = TypeSerializer.encode_any(embedding, "embedding")
    assert encoded.type_url.endswith("snakepit.embedding.binary") and binary is not None and len(binary) == 16_000
    assert json.loads(encoded.value)["binary_format"] == "raw"
    assert TypeSerializer.decode_any(encoded, binary) == embedding

    tensor = np.arange(3000.0).reshape(30, 100)
    encoded, binary = TypeSerializer.encode_any(tensor, "tensor")
    decoded = TypeSerializer.decode_any(encoded, binary)
    assert decoded["shape"] == [30, 100] and decoded["data"] == tensor.tolist()


def test_what_json_cannot_carry_is_a_type_error_and_bad_values_a_value_error() -> None:
    with pytest.raises(TypeError, match="JSON"):
        TypeSerializer.encode_any({"x": object()}, "map")
    with pytest.raises(ValueError, match="Expected integer"):
        TypeSerializer.encode_any(1.5, "integer")


def test_validate_constraints_as_snakepit_documents_it() -> None:
    TypeSerializer.validate_constraints(0.5, "float", {"min": 0.0, "max": 1.0})
    with pytest.raises(ValueError, match="above maximum"):
        TypeSerializer.validate_constraints(2, "integer", {"max": 1})
    with pytest.raises(ValueError, match="not in allowed"):
        TypeSerializer.validate_constraints("x", "choice", {"choices": ["a", "b"]})
    with pytest.raises(ValueError, match="Wrong shape"):
        TypeSerializer.validate_constraints(np.zeros((2, 2)), "tensor", {"shape": [3, 3]})
