"""Helpers shared by the tests and the sample adapters that run in the test process."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
import numpy as np
from snakepit_bridge.errors import ERROR_METADATA_KEY
from snakepit_bridge.grpc_services import BRIDGE_SERVICE_NAME
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.wire import OutgoingChunk

T = TypeVar("T")

# Long enough for a loaded CI machine; only a failing test ever waits this long.
TIMEOUT = 10.0


class Probe:
    """Named events and records one test shares with the tools it runs in this process."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._lock = threading.Lock()
        self._events: dict[str, threading.Event] = {}
        self._records: dict[str, list[Any]] = {}

    def event(self, name: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(name, threading.Event())

    def set(self, name: str) -> None:
        self.event(name).set()

    def wait(self, name: str, timeout: float = TIMEOUT) -> bool:
        return self.event(name).wait(timeout)

    def is_set(self, name: str) -> bool:
        return self.event(name).is_set()

    def record(self, name: str, value: Any) -> None:
        with self._lock:
            self._records.setdefault(name, []).append(value)

    def records(self, name: str) -> list[Any]:
        with self._lock:
            return list(self._records.get(name, ()))

    def release_all(self) -> None:
        """Frees any tool still waiting on a "release" event, so that no test leaves a thread blocked."""
        self.set("release")


_probes: dict[str, Probe] = {}
_probes_lock = threading.Lock()


def new_probe() -> Probe:
    probe = Probe(uuid.uuid4().hex)
    with _probes_lock:
        _probes[probe.key] = probe
    return probe


def probe(key: str) -> Probe:
    with _probes_lock:
        return _probes[key]


def drop_probe(key: str) -> None:
    with _probes_lock:
        found = _probes.pop(key, None)
    if found is not None:
        found.release_all()


def release_all_probes() -> None:
    with _probes_lock:
        probes = list(_probes.values())
    for found in probes:
        found.release_all()


def wait_until(condition: Callable[[], T], timeout: float = TIMEOUT, interval: float = 0.01) -> T:
    """Polls condition until it returns something truthy; for states no event announces."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s: {condition}")
        time.sleep(interval)


def run_with_timeout(function: Callable[[], T], timeout: float = TIMEOUT) -> T:
    """Runs a blocking call in a daemon thread, so that a hang fails the test instead of the whole run."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=target, name="test-blocking-call", daemon=True).start()
    if not done.wait(timeout):
        raise AssertionError(f"{function} did not return within {timeout}s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def error_detail(error: Any) -> pb.ErrorDetail:
    """The ErrorDetail a failed call carries in its trailing metadata (a grpc.RpcError)."""
    values = [value for key, value in error.trailing_metadata() or () if key == ERROR_METADATA_KEY]
    assert len(values) == 1, f"expected one {ERROR_METADATA_KEY} entry, got {error.trailing_metadata()!r}"
    return pb.ErrorDetail.FromString(values[0])


# Requests that do not parse: a string field (tag 0x0a) claiming 4 GiB in 6 bytes, and bytes that are no message.
MALFORMED_REQUESTS = {"lying length": bytes([0x0A, 0x80, 0x80, 0x80, 0x80, 0x10]), "garbage": b"\xff\xff\xff\xff"}
# Every BridgeService method, with the type of its request.
REQUEST_TYPES = {
    "Ping": "PingRequest",
    "ListTools": "ListToolsRequest",
    "ExecuteTool": "ExecuteToolRequest",
    "ExecuteStreamingTool": "ExecuteToolRequest",
    "ExecuteStreamingToolBatched": "ExecuteToolRequest",
    "ExecuteToolWithHostTools": "HostMessage",
    "ExecuteStreamingToolWithHostTools": "HostMessage",
    "AwaitCall": "AwaitCallRequest",
}


def call_with_bytes(channel: grpc.Channel, method: str, request: bytes, metadata: Any = ()) -> list[bytes]:
    """Calls a BridgeService method with a request of raw bytes, as a client without stubs could; its responses."""
    path = f"/{BRIDGE_SERVICE_NAME}/{method}"
    if method in ("ExecuteStreamingTool", "ExecuteStreamingToolBatched"):
        return list(channel.unary_stream(path)(request, metadata=metadata, timeout=TIMEOUT))
    if method.endswith("WithHostTools"):
        return list(channel.stream_stream(path)(iter([request]), metadata=metadata, timeout=TIMEOUT))
    return [channel.unary_unary(path)(request, metadata=metadata, timeout=TIMEOUT)]


def decode_chunk(chunk: pb.ToolChunk | OutgoingChunk) -> Any:
    """The value of a chunk: JSON value, bytes, or (for an ndarray) a nested list of its items."""
    if isinstance(chunk, OutgoingChunk):
        chunk = chunk.message()
    if chunk.encoding == pb.ENCODING_BYTES:
        return bytes(chunk.data)
    if chunk.encoding == pb.ENCODING_NDARRAY:
        dtype = np.dtype(chunk.array.dtype).newbyteorder("<")
        return np.frombuffer(chunk.data, dtype=dtype).reshape(tuple(chunk.array.shape)).tolist()
    return json.loads(chunk.data)
