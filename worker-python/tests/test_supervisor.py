"""On Linux, a pool's child worker runs under a supervisor: nothing below it outlives it, and it cannot outlive its parent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import support
from conftest import SpawnWorker, WorkerProcess, worker_environment
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.proto.bridge_pb2_grpc import BridgeServiceStub
from test_worker_process import OpenStub, is_running, parent_of, request, start_ready

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the supervisor exists on Linux only")


def started(spawn_worker: SpawnWorker, channels: OpenStub) -> tuple[WorkerProcess, int, BridgeServiceStub]:
    worker, ready = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter")
    assert parent_of(ready["pid"]) == worker.process.pid, "the worker serves as the child of the process started"
    return worker, ready["pid"], channels(ready["port"])


def session_child(stub: BridgeServiceStub) -> int:
    response = stub.ExecuteTool(request("start_session_child_process"), timeout=support.TIMEOUT)
    child = int(json.loads(response.result))
    assert is_running(child) and os.getsid(child) == child, "a session of its own"
    return child


def test_a_crashed_worker_leaves_nothing_and_its_supervisor_exits_as_it_did(
    spawn_worker: SpawnWorker, channels: OpenStub
) -> None:
    worker, serving, stub = started(spawn_worker, channels)
    child = session_child(stub)

    os.kill(serving, signal.SIGKILL)

    assert worker.wait() == -signal.SIGKILL
    support.wait_until(lambda: not is_running(child))


@pytest.mark.parametrize("stop", ["stdin", "sigterm"])
def test_a_stopping_worker_leaves_nothing_behind(spawn_worker: SpawnWorker, channels: OpenStub, stop: str) -> None:
    worker, _, stub = started(spawn_worker, channels)
    child = session_child(stub)

    if stop == "stdin":
        assert worker.process.stdin is not None
        worker.process.stdin.close()
    else:
        worker.process.send_signal(signal.SIGTERM)

    assert worker.wait() == 0
    assert not is_running(child)


def test_a_stopped_worker_is_continued_and_stops_when_asked(spawn_worker: SpawnWorker, channels: OpenStub) -> None:
    worker, serving, _ = started(spawn_worker, channels)
    os.kill(serving, signal.SIGSTOP)

    worker.process.send_signal(signal.SIGTERM)

    # Stopping by itself exits 0; had it been killed after the grace period, the exit would say SIGKILL.
    assert worker.wait() == 0


def test_a_worker_that_cannot_stop_is_killed_after_the_grace_period(
    spawn_worker: SpawnWorker, channels: OpenStub
) -> None:
    worker, _, stub = started(spawn_worker, channels)
    holding = stub.ExecuteTool.future(request("hold_gil", seconds=60), timeout=support.TIMEOUT)
    support.wait_until(lambda: "holding the GIL" in worker.stderr)

    worker.process.send_signal(signal.SIGTERM)

    assert worker.wait() == -signal.SIGKILL
    holding.cancel()


def test_a_worker_whose_parent_died_before_it_started_exits_by_itself(tmp_path: Path) -> None:
    """The parent-death signal is set too late for a parent already gone: the worker must check."""
    # An intermediate process starts the worker and exits at once; stdin stays open (we hold it),
    # so only the worker's check that its parent is the one it was given can notice.
    read_end, write_end = os.pipe()
    try:
        launcher = subprocess.run(
            [
                sys.executable,
                "-c",
                "import os, subprocess, sys\n"
                "worker = subprocess.Popen([sys.executable, '-m', 'snakepit_bridge', 'worker', '--adapter',"
                " 'sample_adapters.SampleAdapter', '--parent-pid', str(os.getpid())], stdin=int(sys.argv[1]),"
                " pass_fds=[int(sys.argv[1])], start_new_session=True,"
                " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
                "print(worker.pid)\n",
                str(read_end),
            ],
            pass_fds=[read_end],
            env=worker_environment(),
            cwd=tmp_path,
            capture_output=True,
            timeout=support.TIMEOUT,
            check=True,
        )
        orphan = int(launcher.stdout)
        os.write(write_end, b"\n")
        support.wait_until(lambda: not is_running(orphan))
    finally:
        os.close(write_end)
        os.close(read_end)


def test_ping_reports_the_serving_process(spawn_worker: SpawnWorker, channels: OpenStub) -> None:
    _, serving, stub = started(spawn_worker, channels)

    assert stub.Ping(pb.PingRequest(), timeout=support.TIMEOUT).pid == serving
