"""Adapters the tests serve. Each tool exists to make one behaviour observable.

Tools that synchronise with a test in the same process take ``probe``, the key
of a ``support.Probe``; tools run by a worker subprocess use marker files.
No ``from __future__ import annotations`` here: discovery must also handle
annotations that are real objects rather than strings.
"""

import asyncio
import ctypes
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NotRequired, Optional, TypedDict

import numpy as np
import support
from snakepit_bridge.adapters.showcase.tool import StreamChunk
from snakepit_bridge.base_adapter import BaseAdapter, tool
from snakepit_bridge.call_context import current_call, is_cancelled


class TrainingDiverged(RuntimeError):
    """A tool's own exception type, whose qualified name must reach the client."""


class Opaque:
    """Something JSON cannot encode."""


def _mark(path: str, event: str) -> None:
    with open(path, "a", encoding="utf-8") as marker:
        marker.write(event + "\n")


class Reading(TypedDict):
    """The standard library's TypedDict, with annotations that are real objects."""

    value: float
    unit: NotRequired[str]


class SampleAdapter(BaseAdapter):
    # --- unary tools -------------------------------------------------------

    @tool
    def add(self, a: int, b: int = 2) -> int:
        """Adds two integers.

        The second paragraph is part of the description too.
        """
        return a + b

    @tool(description="Returns its argument unchanged")
    def echo(self, value: Any) -> Any:
        return value

    @tool
    async def async_add(self, a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    @tool
    def raw_bytes(self, size: int) -> bytes:
        return bytes(range(size))

    @tool
    def matrix(self, dtype: str, rows: int = 2, cols: int = 3) -> Any:
        return np.arange(rows * cols).reshape(rows, cols).astype(dtype)

    @tool
    def calibrate(self, reading: Reading, offset: float = 0.0) -> Reading:
        return {"value": reading["value"] + offset, "unit": reading.get("unit", "")}

    @tool
    def fail(self, message: str) -> None:
        raise TrainingDiverged(message)

    @tool
    def exits(self, code: int) -> None:
        sys.exit(code)

    @tool(supports_streaming=True)
    def exits_after(self, n: int, code: int) -> Iterator[int]:
        yield from range(n)
        sys.exit(code)

    @tool
    async def async_exits(self, code: int) -> None:
        sys.exit(code)

    @tool(supports_streaming=True)
    async def async_exits_after(self, n: int, code: int) -> AsyncIterator[int]:
        for value in range(n):
            yield value
        sys.exit(code)

    @tool
    def opaque(self) -> Any:
        return {"value": Opaque()}

    @tool
    def not_a_number(self) -> float:
        return float("nan")

    @tool
    def generator_not_marked(self) -> Iterator[int]:
        yield 1

    @tool
    def blob(self, size: int) -> str:
        return "x" * size

    @tool
    def call_info(self) -> dict[str, str]:
        call = current_call()
        return {"call_id": call.call_id, "session_id": call.session_id, "tool_name": call.tool_name}

    @tool
    def pid(self) -> int:
        return os.getpid()

    @tool
    def noisy(self, text: str) -> str:
        print(text)
        sys.stdout.flush()
        return "printed"

    @tool
    def log_warning(self, message: str) -> bool:
        """Logs a warning; tells whether OpenTelemetry was imported into this process."""
        logging.getLogger("sample_adapters").warning(message)
        return "opentelemetry" in sys.modules

    @tool
    def read_stdin(self) -> str:
        return sys.stdin.read()

    @tool
    def environment_variable(self, name: str) -> str | None:
        return os.environ.get(name)

    @tool
    def start_child_process(self) -> int:
        """Starts a long-running subprocess, as a tool driving an external program would."""
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        return child.pid

    @tool
    def hold_gil(self, seconds: int) -> None:
        """Sleeps in C holding the GIL, as a stuck native call does: no Python code of the worker can run."""
        # A worker's prints go to its stderr, where the test waits for this line.
        print("holding the GIL", flush=True)
        # PyDLL, unlike CDLL, keeps the GIL during the foreign call.
        ctypes.PyDLL(None).sleep(seconds)

    @tool
    def start_session_child_process(self) -> int:
        """Starts a long-running subprocess in a session of its own, out of the worker's process group."""
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
        return child.pid

    @tool
    def switch_interval(self) -> float:
        return sys.getswitchinterval()

    @tool
    def note(self, probe: str, name: str) -> str:
        """Records ``name`` under "ran" as it runs: the order in which calls ran, whatever order their answers take."""
        support.probe(probe).record("ran", name)
        return name

    @tool
    def wait_for_cancel(self, probe: str) -> bool:
        found = support.probe(probe)
        found.set("started")
        current_call().cancelled_event.wait(support.TIMEOUT)
        found.record("is_cancelled", is_cancelled())
        found.set("observed")
        return True

    @tool
    async def async_wait_for_cancel(self, probe: str) -> bool:
        found = support.probe(probe)
        found.set("started")
        # Awaited directly: the cancellation the servicer sends to this task is absorbed here, and the tool goes on.
        await current_call().wait_cancelled()
        found.record("is_cancelled", is_cancelled())
        found.set("observed")
        return True

    @tool
    async def async_slow_cleanup(self, probe: str) -> None:
        """Waits until cancelled, then takes a moment to clean up, as closing a client session does."""
        found = support.probe(probe)
        try:
            found.set("started")
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.2)
            found.set("closed")

    @tool
    def signature_showcase(
        self,
        count: int,
        name: str = "snake",
        ratio: float = 0.5,
        flags: Optional[list] = None,  # noqa: UP045 - how users write it; the spec checks its name
        values: list[float] = [],  # noqa: B006 - the default is only reported, never mutated
        opaque: Any = Opaque(),  # noqa: B008 - an object that has no JSON form, on purpose
        untyped=True,
        *rest: Any,
        label: str = "kw",
        **extra: Any,
    ) -> None:
        """Shows how parameters are reported."""

    # --- streaming tools ---------------------------------------------------

    @tool(description="Yields {seq} for seq in start..start+n-1", supports_streaming=True)
    def count(self, n: int, start: int = 0) -> Iterator[dict[str, int]]:
        for seq in range(start, start + n):
            yield {"seq": seq}

    @tool(supports_streaming=True)
    async def async_count(self, n: int) -> AsyncIterator[dict[str, int]]:
        for seq in range(n):
            await asyncio.sleep(0)
            yield {"seq": seq}

    @tool(supports_streaming=True)
    def mixed(self) -> Iterator[Any]:
        yield {"kind": "json", "text": "héllo ✓"}
        yield b"\x00\x01\x02"
        yield np.array([[1.5, 2.5], [3.5, 4.5]], dtype=np.float32)
        yield StreamChunk({"kind": "with metadata"}, metadata={"stage": "train"})
        yield 42
        yield StreamChunk({"kind": "last"}, is_final=True, metadata={"epochs": "3"})
        raise AssertionError("a generator must not be resumed after its final chunk")

    @tool(supports_streaming=True)
    def fail_after(self, n: int, message: str = "diverged") -> Iterator[dict[str, int]]:
        for seq in range(n):
            yield {"seq": seq}
        raise TrainingDiverged(message)

    @tool(supports_streaming=True)
    def unencodable_after(self, n: int) -> Iterator[Any]:
        for seq in range(n):
            yield {"seq": seq}
        yield {"tags": Opaque()}

    @tool(supports_streaming=True)
    def chunk_of(self, size: int) -> Iterator[str]:
        yield "x" * size

    @tool(supports_streaming=True)
    def small_chunks(self, n: int, size: int) -> Iterator[str]:
        text = "x" * size
        for _ in range(n):
            yield text

    @tool(supports_streaming=True)
    def returns_list(self, items: list) -> list:
        return items

    @tool(supports_streaming=True)
    def ticker(self, probe: str) -> Iterator[dict[str, int]]:
        found = support.probe(probe)
        found.set("started")
        try:
            seq = 0
            while True:
                yield {"seq": seq}
                seq += 1
        finally:
            found.record("is_cancelled", is_cancelled())
            found.set("closed")

    @tool(supports_streaming=True)
    async def async_ticker(self, probe: str) -> AsyncIterator[dict[str, int]]:
        found = support.probe(probe)
        found.set("started")
        try:
            seq = 0
            while True:
                yield {"seq": seq}
                seq += 1
                await asyncio.sleep(0.001)
        finally:
            found.set("closed")

    @tool(supports_streaming=True)
    def wait_then_yield(self, probe: str) -> Iterator[dict[str, str]]:
        """Waits for its call to be cancelled before it yields anything."""
        found = support.probe(probe)
        found.set("started")
        current_call().cancelled_event.wait(support.TIMEOUT)
        found.set("observed")
        yield {"state": "cancelled"}

    @tool(supports_streaming=True)
    def yield_then_wait(self, probe: str) -> Iterator[dict[str, str]]:
        """Yields once, then waits for its call to be cancelled."""
        found = support.probe(probe)
        try:
            yield {"state": "waiting"}
            found.set("waiting")
            current_call().cancelled_event.wait(support.TIMEOUT)
            found.record("is_cancelled", is_cancelled())
        finally:
            found.set("closed")

    @tool(supports_streaming=True)
    def marker_ticker(self, marker: str) -> Iterator[dict[str, int]]:
        """For worker subprocesses: records start and close in a file."""
        _mark(marker, "started")
        try:
            seq = 0
            while True:
                yield {"seq": seq}
                seq += 1
        finally:
            _mark(marker, "closed")

    @tool(supports_streaming=True)
    def pid_ticker(self, marker: str) -> Iterator[dict[str, int]]:
        """For worker subprocesses: yields its process id every millisecond; records start and close in a file."""
        _mark(marker, "started")
        try:
            seq = 0
            while True:
                yield {"seq": seq, "pid": os.getpid()}
                seq += 1
                time.sleep(0.001)
        finally:
            _mark(marker, "closed")

    @tool(supports_streaming=True)
    def yield_then_sleep(self, seconds: float) -> Iterator[dict[str, int]]:
        """Yields its process id, then sleeps where cancellation cannot reach it."""
        yield {"pid": os.getpid()}
        time.sleep(seconds)

    @tool(supports_streaming=True)
    async def async_marker_ticker(self, marker: str) -> AsyncIterator[dict[str, int]]:
        _mark(marker, "started")
        try:
            seq = 0
            while True:
                yield {"seq": seq}
                seq += 1
                await asyncio.sleep(0.001)
        finally:
            # Something a real tool does on close: release a resource on the loop.
            await asyncio.sleep(0.05)
            _mark(marker, "closed")


# The file whose existence makes FragileAdapter fail to start (a test sets the variable).
FAIL_MARKER_ENV = "SNAKEPIT_TEST_FAIL_MARKER"
HELPER_DIR_ENV = "SNAKEPIT_TEST_HELPER_DIR"


class FragileAdapter(SampleAdapter):
    """A SampleAdapter whose construction fails while the file FAIL_MARKER_ENV names exists: a broken environment."""

    def __init__(self) -> None:
        marker = os.environ.get(FAIL_MARKER_ENV, "")
        if marker and os.path.exists(marker):
            raise RuntimeError(f"the model cannot load ({marker} exists)")
        super().__init__()


class VarArgsAdapter(BaseAdapter):
    @tool
    def flexible(self, a: int, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"a": a, "kwargs": kwargs}


class NotAnAdapter:
    """Has the shape of an adapter but does not subclass BaseAdapter."""

    @tool
    def add(self, a: int, b: int) -> int:
        return a + b


def not_a_class() -> None:
    """A module attribute that is not a class at all."""


class HelperLeavingAdapter(SampleAdapter):
    """Fails to start after starting a process in a session of its own, whose pid it writes to a file in the
    directory HELPER_DIR_ENV names."""

    def initialize(self) -> None:
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        Path(os.environ[HELPER_DIR_ENV], str(helper.pid)).touch()
        raise RuntimeError("the model cannot load")
