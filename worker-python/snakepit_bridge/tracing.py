"""The span a tool runs in, continued from the trace context the call brought.

The pool sends its call span's W3C trace context as gRPC metadata
(``traceparent``, ``tracestate``). When the process has OpenTelemetry's API
loaded (the adapter's module, an instrumentation or the worker's own set-up
imported it: see ``otel_setup``), the tool runs in a child span made through
the global tracer provider, current in the thread or task that runs the tool,
so that spans of instrumented libraries nest under it. Otherwise nothing is
imported and nothing recorded; log records still carry the caller's trace id.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from snakepit_bridge.call_context import CallContext
    from snakepit_bridge.errors import CallFailure

# version-traceid-parentid-flags; a version other than 00 may add fields after these.
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$")
_INVALID_TRACE_ID = "0" * 32
# Never handed to a propagator, nor kept.
_PRIVATE_METADATA = frozenset({"authorization"})

logger = logging.getLogger(__name__)


class ToolSpan(Protocol):
    """The span of one tool call, as the call's context uses it."""

    @property
    def trace_id(self) -> str:
        """The trace's id as 32 hex digits, or "" when the call is in no trace."""
        ...

    def attach(self) -> object:
        """Makes the span current in this thread or task; returns the token ``detach`` takes."""
        ...

    def detach(self, token: object) -> None: ...

    def end(self, failure: CallFailure | None, *, cancelled: bool, chunks: int | None) -> None:
        """Ends the span with the call's outcome (``chunks``: how many a stream produced). Never raises:
        telemetry that fails must not change the call's outcome."""
        ...


class UntracedSpan:
    """A call without OpenTelemetry: records nothing, but knows the caller's trace id for log records."""

    def __init__(self, trace_id: str = "") -> None:
        self._trace_id = trace_id

    @property
    def trace_id(self) -> str:
        return self._trace_id

    def attach(self) -> object:
        return None

    def detach(self, token: object) -> None:
        pass

    def end(self, failure: CallFailure | None, *, cancelled: bool, chunks: int | None) -> None:
        pass


NO_SPAN: ToolSpan = UntracedSpan()


def trace_id_of(traceparent: str | None) -> str:
    """The trace id of a W3C ``traceparent`` header, or "" when it is missing or malformed."""
    match = _TRACEPARENT.match(traceparent or "")
    if match is None or match.group(1) == _INVALID_TRACE_ID:
        return ""
    return match.group(1)


def start_tool_span(call: CallContext, metadata: Iterable[tuple[str, str | bytes]] | None, worker_id: str) -> ToolSpan:
    """Starts the span a tool call runs in, a child of the caller's span when the metadata carries one."""
    carrier = {key: value for key, value in metadata or () if isinstance(value, str) and key not in _PRIVATE_METADATA}
    # Loaded by whoever configured an SDK; never imported here, where it would cost every worker's start.
    if "opentelemetry.trace" not in sys.modules:
        traceparent = carrier.get("traceparent")
        return NO_SPAN if traceparent is None else UntracedSpan(trace_id_of(traceparent))
    try:
        from snakepit_bridge.otel_span import OtelToolSpan

        return OtelToolSpan.start(call, carrier, worker_id)
    except Exception:
        # A broken SDK (a sampler that raises, say) costs the call its span, never its outcome.
        logger.warning("cannot start the span of tool %s; it runs untraced", call.tool_name, exc_info=True)
        return UntracedSpan(trace_id_of(carrier.get("traceparent")))
