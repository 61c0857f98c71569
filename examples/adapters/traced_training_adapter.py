"""The guide's training loop, traced: the adapter's module sets up OpenTelemetry's SDK with an OTLP
exporter, as an application would. The standard variables configure it (OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES...), read by the SDK itself.

Needs: pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
(both in the repository's .venv, as development dependencies).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from snakepit_bridge import BaseAdapter, StreamChunk, tool

# OTEL_SERVICE_NAME, when set, wins over this default: Resource.create reads the environment.
_provider = TracerProvider(resource=Resource.create({"service.name": "snakepit-worker"}))
_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(_provider)

tracer = trace.get_tracer(__name__)
logger = logging.getLogger(__name__)


class TracedTrainingAdapter(BaseAdapter):
    @tool(description="Train with streaming progress, one span per epoch", supports_streaming=True)
    def train_with_progress(self, epochs: int = 3) -> Iterator[Any]:
        for epoch in range(1, epochs + 1):
            # A child of the tool's span, as the spans of an instrumented library would be.
            with tracer.start_as_current_span("epoch", attributes={"epoch": epoch}):
                time.sleep(0.01)
                loss = round(1.0 / epoch, 3)
            logger.info("epoch %d: loss=%s", epoch, loss)
            yield {"epoch": epoch, "total": epochs, "loss": loss}
        yield StreamChunk(data={"status": "complete"}, is_final=True)
