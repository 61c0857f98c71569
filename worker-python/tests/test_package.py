"""The package's public surface, and the guide's import paths that name the same objects."""

from __future__ import annotations

import subprocess
import sys

import snakepit_bridge
from snakepit_bridge import base_adapter, call_context
from snakepit_bridge.adapters.showcase import tool as showcase_tool


def test_the_package_exports_what_an_adapter_needs() -> None:
    assert sorted(snakepit_bridge.__all__) == [
        "BaseAdapter",
        "SessionContext",
        "StreamChunk",
        "ToolMetadata",
        "current_call",
        "is_cancelled",
        "tool",
    ]
    for name in snakepit_bridge.__all__:
        assert getattr(snakepit_bridge, name) is not None


def test_the_guide_paths_name_the_same_objects() -> None:
    assert showcase_tool.StreamChunk is snakepit_bridge.StreamChunk
    assert base_adapter.BaseAdapter is snakepit_bridge.BaseAdapter
    assert base_adapter.tool is snakepit_bridge.tool
    assert call_context.current_call is snakepit_bridge.current_call
    assert call_context.is_cancelled is snakepit_bridge.is_cancelled


def test_a_worker_loads_no_sample_module() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, snakepit_bridge.worker_main; print(','.join(sorted(sys.modules)))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert [name for name in loaded.split(",") if name.startswith("snakepit_bridge.adapters")] == []
