"""The tool's span through OpenTelemetry's API; imported only once the process has loaded the API."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from snakepit_bridge.call_context import CallContext
    from snakepit_bridge.errors import CallFailure

INSTRUMENTATION_SCOPE = "snakepit_bridge"

logger = logging.getLogger(__name__)


class OtelToolSpan:
    """``snakepit.tool``: the span a tool runs in, a child of the pool's ``snakepit.stream`` or ``snakepit.execute``."""

    def __init__(self, span: trace.Span, context: otel_context.Context) -> None:
        self._span = span
        self._context = context
        span_context = span.get_span_context()
        self._trace_id = trace.format_trace_id(span_context.trace_id) if span_context.is_valid else ""

    @classmethod
    def start(cls, call: CallContext, carrier: Mapping[str, str], worker_id: str) -> OtelToolSpan:
        parent = propagate.extract(carrier)
        attributes: dict[str, str] = {
            "snakepit.tool": call.tool_name,
            "snakepit.call_id": call.call_id,
            "snakepit.worker_id": worker_id,
        }
        if call.session_id:
            attributes["snakepit.session_id"] = call.session_id
        span = trace.get_tracer(INSTRUMENTATION_SCOPE).start_span(
            "snakepit.tool", context=parent, kind=SpanKind.SERVER, attributes=attributes
        )
        return cls(span, trace.set_span_in_context(span, parent))

    @property
    def trace_id(self) -> str:
        return self._trace_id

    def attach(self) -> object:
        return otel_context.attach(self._context)

    def detach(self, token: object) -> None:
        otel_context.detach(token)  # type: ignore[arg-type]

    def end(self, failure: CallFailure | None, *, cancelled: bool, chunks: int | None) -> None:
        try:
            self._end(failure, cancelled=cancelled, chunks=chunks)
        except Exception:
            # A span processor that raises in on_end must not fail a call that succeeded, nor stall a stream.
            logger.warning("ending the span of a tool call raised", exc_info=True)

    def _end(self, failure: CallFailure | None, *, cancelled: bool, chunks: int | None) -> None:
        span = self._span
        if span.is_recording():
            outcome = "cancelled" if cancelled else "failed" if failure is not None else "completed"
            span.set_attribute("snakepit.outcome", outcome)
            if chunks is not None:
                span.set_attribute("snakepit.chunks", chunks)
            if failure is not None and not cancelled:
                span.set_attribute("snakepit.error_code", failure.code)
                span.add_event(
                    "exception",
                    {
                        "exception.type": failure.python_type or failure.code,
                        "exception.message": failure.message,
                        "exception.stacktrace": failure.python_traceback,
                    },
                )
                span.set_status(Status(StatusCode.ERROR, f"{failure.code}: {failure.message}"))
        span.end()
