"""OpenTelemetry from the standard ``OTEL_*`` variables, as ``opentelemetry-instrument`` sets it up.

A pool starts its workers itself, so they cannot be wrapped in ``opentelemetry-instrument``. When
the environment asks for an exporter (``OTEL_TRACES_EXPORTER``, ``OTEL_METRICS_EXPORTER`` or
``OTEL_LOGS_EXPORTER``, other than ``none``), the worker does at start what that command does:
opentelemetry-distro's configurator builds the providers and exporters from the environment, and
the installed instrumentations are applied. Without such a variable nothing is imported: a worker
that traces nothing does not pay OpenTelemetry's import.
"""

from __future__ import annotations

import logging
import os
import sys

logger = logging.getLogger(__name__)

_EXPORTER_VARIABLES = ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER")


def wanted() -> bool:
    """Whether the environment asks for OpenTelemetry: an exporter named, and the SDK not disabled."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name, "none").strip().lower() not in ("", "none") for name in _EXPORTER_VARIABLES)


def configure_from_environment() -> bool:
    """Sets OpenTelemetry up from the environment when it asks for it; returns whether it did."""
    if not wanted():
        return False
    try:
        from opentelemetry.instrumentation.auto_instrumentation import initialize
    except ImportError:
        logger.warning(
            "OTEL_*_EXPORTER is set but opentelemetry-distro is not installed in the worker's environment: "
            "nothing is exported (pip install opentelemetry-distro and an exporter, such as "
            "opentelemetry-exporter-otlp; or configure the SDK in the adapter's module; or set "
            "OTEL_TRACES_EXPORTER=none in the pool's env)"
        )
        return False
    initialize()
    return True


def flush() -> None:
    """Exports what the SDK's providers still hold: the worker ends with ``os._exit``, which skips the
    SDK's own exit hooks. Nothing to do when the process never loaded OpenTelemetry."""
    if "opentelemetry.trace" not in sys.modules:
        return
    from opentelemetry import metrics, trace

    providers: list[object] = [trace.get_tracer_provider(), metrics.get_meter_provider()]
    logs = sys.modules.get("opentelemetry._logs")
    if logs is not None:
        providers.append(logs.get_logger_provider())
    for provider in providers:
        shutdown = getattr(provider, "shutdown", None)
        if callable(shutdown):
            try:
                shutdown()
            except Exception:
                logger.exception("OpenTelemetry's %s could not shut down", type(provider).__name__)
