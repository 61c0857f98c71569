"""The bench adapter with OpenTelemetry's SDK configured in its module, as an application's adapter
would configure it, exporting to memory: what tracing costs the worker, at start and per call."""

from __future__ import annotations

from bench_adapter import BenchAdapter
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from snakepit_bridge.base_adapter import tool

exporter = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(_provider)


class TracedBenchAdapter(BenchAdapter):
    @tool(description="how many spans the worker exported, and clears them")
    def exported_spans(self) -> int:
        count = len(exporter.get_finished_spans())
        exporter.clear()
        return count
