"""Snakepit's telemetry API, as a thin layer over logging.

Snakepit streams these events to Elixir's ``:telemetry``. Here the default backend writes each
event as one JSON line on the ``snakepit_bridge.telemetry`` logger at INFO: the line reaches the
pool's ``onLog`` when the worker logs at INFO (``SNAKEPIT_LOG_LEVEL=INFO`` in the pool's ``env``).
``set_backend()`` sends them elsewhere; ``set_backend(None)`` turns them off.

Correlation ids: ``get_correlation_id()`` is the one set with ``set_correlation_id()``, else the id of
the running call (the pool's ``callId``, which its events carry), else the default.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token

from snakepit_bridge.call_context import running_call

__all__ = [
    "CORRELATION_HEADER",
    "LoggingBackend",
    "TelemetryBackend",
    "emit",
    "get_backend",
    "get_correlation_id",
    "is_enabled",
    "new_correlation_id",
    "outgoing_metadata",
    "reset_correlation_id",
    "set_backend",
    "set_correlation_id",
    "span",
]

CORRELATION_HEADER = "x-snakepit-correlation-id"

_correlation_id: ContextVar[str | None] = ContextVar("snakepit_correlation_id", default=None)


class TelemetryBackend:
    """Where events go: override ``emit`` (and ``close`` if there is something to release)."""

    def emit(
        self,
        event_name: str,
        measurements: Mapping[str, object],
        metadata: Mapping[str, object] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Releases what the backend holds; called by nothing here, kept for Snakepit's backends."""


class LoggingBackend(TelemetryBackend):
    """The default: one JSON line per event on the ``snakepit_bridge.telemetry`` logger, at INFO."""

    logger = logging.getLogger("snakepit_bridge.telemetry")

    def emit(
        self,
        event_name: str,
        measurements: Mapping[str, object],
        metadata: Mapping[str, object] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        event = {
            "event": event_name,
            "measurements": dict(measurements),
            "metadata": dict(metadata or {}),
            "correlation_id": correlation_id or get_correlation_id(),
        }
        self.logger.info("%s", json.dumps(event, separators=(",", ":"), default=repr))


_backend: TelemetryBackend | None = LoggingBackend()


def set_backend(backend: TelemetryBackend | None) -> None:
    """Sends events to ``backend`` from now on; None turns telemetry off."""
    global _backend
    _backend = backend


def get_backend() -> TelemetryBackend | None:
    return _backend


def is_enabled() -> bool:
    """True while a backend is set (the logging one by default)."""
    return _backend is not None


def emit(
    event: str,
    measurements: Mapping[str, object],
    metadata: Mapping[str, object] | None = None,
    correlation_id: str | None = None,
) -> None:
    """Emits an event (dotted name, numeric measurements, metadata) to the backend."""
    backend = _backend
    if backend is not None:
        backend.emit(event, measurements, metadata, correlation_id)


@contextmanager
def span(
    operation: str, metadata: Mapping[str, object] | None = None, correlation_id: str | None = None
) -> Iterator[None]:
    """Emits ``<operation>.start``, then ``<operation>.stop`` with its ``duration`` in ns, or
    ``<operation>.exception`` (with ``error_type`` and ``error_message``) and re-raises."""
    started = time.time_ns()
    emit(f"{operation}.start", {"system_time": started}, metadata, correlation_id)
    try:
        yield
    except Exception as error:
        failed = {**(metadata or {}), "error_type": type(error).__name__, "error_message": str(error)}
        emit(f"{operation}.exception", {"duration": time.time_ns() - started}, failed, correlation_id)
        raise
    emit(f"{operation}.stop", {"duration": time.time_ns() - started}, metadata, correlation_id)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def set_correlation_id(value: str) -> Token[str | None]:
    """Sets the correlation id of the current context; returns the token ``reset_correlation_id`` takes."""
    return _correlation_id.set(value)


def reset_correlation_id(token: Token[str | None] | None) -> None:
    if token is not None:
        _correlation_id.reset(token)


def get_correlation_id(default: str | None = None) -> str | None:
    """The id set in this context, else the running call's id, else ``default``."""
    explicit = _correlation_id.get()
    if explicit is not None:
        return explicit
    call = running_call()
    return call.call_id if call is not None else default


def outgoing_metadata(initial: Iterable[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """gRPC metadata with the correlation id added, for calls a tool makes to other services."""
    metadata = list(initial or ())
    correlation = get_correlation_id()
    if correlation:
        metadata.append((CORRELATION_HEADER, correlation))
    return metadata
