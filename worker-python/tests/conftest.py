"""Fixtures: probes shared with in-process tools, in-process gRPC servers, and worker subprocesses.

Everything a fixture starts, its teardown stops.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import support
from sample_adapters import SampleAdapter
from snakepit_bridge.base_adapter import BaseAdapter
from snakepit_bridge.call_admission import waiting_room
from snakepit_bridge.grpc_services import Health
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.proto import bridge_pb2_grpc
from snakepit_bridge.server import start_server
from snakepit_bridge.servicer import BridgeServicer, Limits

TESTS_DIR = Path(__file__).resolve().parent
WORKER_PYTHON_DIR = TESTS_DIR.parent

WORKER_ID = "test-worker"
ADAPTER_NAME = "sample_adapters.SampleAdapter"
# The threads of the servers start_bridge starts.
BRIDGE_THREADS = 8


@pytest.fixture
def probe() -> Iterator[support.Probe]:
    found = support.new_probe()
    yield found
    support.drop_probe(found.key)


# --- in-process server ------------------------------------------------------


@dataclass
class Bridge:
    server: grpc.Server
    servicer: BridgeServicer
    port: int
    channel: grpc.Channel
    stub: bridge_pb2_grpc.BridgeServiceStub
    token: str | None
    health: Health

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def request(self, tool_name: str, call_id: str = "call", **arguments: Any) -> pb.ExecuteToolRequest:
        return pb.ExecuteToolRequest(
            tool_name=tool_name, arguments=json.dumps(arguments).encode() if arguments else b"", call_id=call_id
        )

    def execute(self, tool_name: str, **arguments: Any) -> pb.ExecuteToolResponse:
        return self.stub.ExecuteTool(
            self.request(tool_name, **arguments), metadata=self.metadata, timeout=support.TIMEOUT
        )

    def stream(self, tool_name: str, call_id: str = "call", **arguments: Any) -> list[pb.ToolChunk]:
        return list(
            self.stub.ExecuteStreamingTool(
                self.request(tool_name, call_id, **arguments), metadata=self.metadata, timeout=support.TIMEOUT
            )
        )

    def stream_batched(self, tool_name: str, call_id: str = "call", **arguments: Any) -> list[pb.ChunkBatch]:
        return list(
            self.stub.ExecuteStreamingToolBatched(
                self.request(tool_name, call_id, **arguments), metadata=self.metadata, timeout=support.TIMEOUT
            )
        )


StartBridge = Callable[..., Bridge]


@pytest.fixture
def start_bridge() -> Iterator[StartBridge]:
    """Starts servers on 127.0.0.1 at a port the OS chooses; stops them and their channels afterwards."""
    started: list[Bridge] = []

    def start(*, token: str | None = None, limits: Limits | None = None, adapter: BaseAdapter | None = None) -> Bridge:
        limits = limits or Limits(max_waiting_calls=waiting_room(BRIDGE_THREADS))
        servicer = BridgeServicer(adapter or SampleAdapter(), ADAPTER_NAME, WORKER_ID, limits)
        health = Health()
        server, port = start_server(
            servicer,
            host="127.0.0.1",
            port=0,
            token=token,
            max_message_bytes=limits.max_message_bytes,
            max_workers=BRIDGE_THREADS,
            health=health,
        )
        channel = grpc.insecure_channel(
            f"127.0.0.1:{port}",
            options=[
                ("grpc.max_receive_message_length", limits.max_message_bytes),
                ("grpc.max_send_message_length", limits.max_message_bytes),
            ],
        )
        bridge = Bridge(server, servicer, port, channel, bridge_pb2_grpc.BridgeServiceStub(channel), token, health)
        started.append(bridge)
        grpc.channel_ready_future(channel).result(timeout=support.TIMEOUT)
        return bridge

    yield start
    # Free tools that wait on a probe first, so that stopping the server does not wait on them.
    support.release_all_probes()
    for bridge in started:
        bridge.channel.close()
        bridge.server.stop(grace=None).wait(support.TIMEOUT)
        bridge.servicer.wait_idle(support.TIMEOUT)


@pytest.fixture
def bridge(start_bridge: StartBridge) -> Bridge:
    return start_bridge()


# --- worker subprocesses ----------------------------------------------------


class WorkerProcess:
    """A ``python -m snakepit_bridge`` subprocess, with its output collected by reader threads."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.stdout_lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._stderr_lock = threading.Lock()
        self._readers = [
            threading.Thread(target=self._read_stdout, name="worker-stdout", daemon=True),
            threading.Thread(target=self._read_stderr, name="worker-stderr", daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in iter(self.process.stdout.readline, b""):
            self.stdout_lines.put(line.decode("utf-8", "replace"))
        self.stdout_lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in iter(self.process.stderr.readline, b""):
            with self._stderr_lock:
                self._stderr.append(line.decode("utf-8", "replace"))

    @property
    def stderr(self) -> str:
        with self._stderr_lock:
            return "".join(self._stderr)

    def next_stdout_line(self, timeout: float = support.TIMEOUT) -> str | None:
        """The next line on stdout, or None at end of file."""
        try:
            return self.stdout_lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no stdout line within {timeout}s; stderr:\n{self.stderr}") from None

    def remaining_stdout(self) -> list[str]:
        """Every line stdout holds after the process exited, up to end of file."""
        lines = []
        while (line := self.next_stdout_line()) is not None:
            lines.append(line)
        return lines

    def handshake(self, prefix: str) -> dict[str, Any]:
        line = self.next_stdout_line()
        assert line is not None and line.startswith(prefix), (
            f"expected {prefix!r}, got {line!r}; stderr:\n{self.stderr}"
        )
        return json.loads(line[len(prefix) :])

    def wait(self, timeout: float = support.TIMEOUT) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            # Its own process group (as a pool starts it): take along anything its tools started.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(support.TIMEOUT)
        for reader in self._readers:
            reader.join(support.TIMEOUT)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


SpawnWorker = Callable[..., WorkerProcess]


def worker_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    environment = dict(os.environ)
    environment.pop("SNAKEPIT_TOKEN", None)
    environment.pop("SNAKEPIT_LOG_LEVEL", None)
    paths = [str(WORKER_PYTHON_DIR), str(TESTS_DIR), environment.get("PYTHONPATH", "")]
    environment["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    environment["PYTHONUNBUFFERED"] = "1"
    environment.update(extra or {})
    return environment


@pytest.fixture
def spawn_worker(tmp_path: Path) -> Iterator[SpawnWorker]:
    """Starts ``python -m snakepit_bridge <args>`` as a pool would; kills whatever is left at teardown."""
    workers: list[WorkerProcess] = []

    def spawn(*args: str, env: dict[str, str] | None = None, token: str | None = None) -> WorkerProcess:
        """A pool's child ("worker") gets its token, or an empty line for none, on stdin, as a pool sends it."""
        process = subprocess.Popen(
            [sys.executable, "-m", "snakepit_bridge", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            env=worker_environment(env),
            start_new_session=True,
        )
        if args[0] == "worker":
            assert process.stdin is not None
            process.stdin.write(f"{token or ''}\n".encode())
            process.stdin.flush()
        worker = WorkerProcess(process)
        workers.append(worker)
        return worker

    yield spawn
    for worker in workers:
        worker.stop()


@pytest.fixture
def channels() -> Iterator[Callable[[int | str], bridge_pb2_grpc.BridgeServiceStub]]:
    """Opens channels to worker subprocesses, by port on 127.0.0.1 or by target (``unix:PATH``); closes them at teardown."""
    opened: list[grpc.Channel] = []

    def open_stub(where: int | str) -> bridge_pb2_grpc.BridgeServiceStub:
        channel = grpc.insecure_channel(where if isinstance(where, str) else f"127.0.0.1:{where}")
        opened.append(channel)
        grpc.channel_ready_future(channel).result(timeout=support.TIMEOUT)
        return bridge_pb2_grpc.BridgeServiceStub(channel)

    yield open_stub
    for channel in opened:
        channel.close()
