"""A pool's local worker on a Unix socket (`worker --socket PATH`), as a pool on Linux or macOS starts it."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import support
from conftest import SpawnWorker
from snakepit_bridge import parent_pipe, unix_socket
from snakepit_bridge.proto import bridge_pb2 as pb
from test_worker_process import FAILED, OpenStub, auth, request, start_ready

TOKEN = "worker-test-token"


@pytest.fixture
def socket_directory() -> Iterator[Path]:
    """A private directory with a short path, as a pool makes one (pytest's own can be too long for a socket)."""
    directory = Path(tempfile.mkdtemp(prefix="snakepit-test-", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_serves_on_the_socket_it_is_given_and_reports_it_instead_of_a_port(
    spawn_worker: SpawnWorker, channels: OpenStub, socket_directory: Path
) -> None:
    socket = str(socket_directory / "worker-1.sock")
    _, ready = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter", "--socket", socket, token=TOKEN)

    assert set(ready) == {"socket", "pid", "worker_id"}
    assert ready["socket"] == socket
    mode = os.stat(socket).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600, "only its user may connect"
    stub = channels(f"unix:{socket}")
    assert stub.ExecuteTool(request("add", a=2, b=3), metadata=auth(), timeout=support.TIMEOUT).result == b"5"


def test_removes_its_socket_when_its_pool_stops_it_and_leaves_the_directory_to_the_pool(
    spawn_worker: SpawnWorker, socket_directory: Path
) -> None:
    socket_path = socket_directory / "worker-1.sock"
    worker, _ = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter", "--socket", str(socket_path))

    assert worker.process.stdin is not None
    worker.process.stdin.write(parent_pipe.STOP_LINE)
    worker.process.stdin.close()

    assert worker.wait() == 0
    assert not socket_path.exists()
    assert socket_directory.is_dir(), "the pool is alive, and may start a replacement there"


def test_the_last_worker_of_a_pool_that_died_removes_the_directory(
    spawn_worker: SpawnWorker, socket_directory: Path
) -> None:
    workers = [
        start_ready(
            spawn_worker, "--adapter", "sample_adapters.SampleAdapter", "--socket", str(socket_directory / name)
        )[0]
        for name in ("worker-1.sock", "worker-2.sock")
    ]

    # Their stdin ends without a goodbye, as when the pool's process is killed.
    for worker in workers:
        assert worker.process.stdin is not None
        worker.process.stdin.close()

    assert [worker.wait() for worker in workers] == [0, 0]
    assert not socket_directory.exists()


def test_a_worker_leaves_the_directory_while_other_sockets_remain(socket_directory: Path) -> None:
    socket_path, other = socket_directory / "worker-1.sock", socket_directory / "worker-2.sock"
    socket_path.touch()
    other.touch()
    unix_socket.remove_socket(str(socket_path), pool_gone=True)
    assert not socket_path.exists() and other.exists()


def test_the_sweep_removes_only_real_directories_named_after_a_process_that_is_gone(socket_directory: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = socket_directory / f"snakepit-rx-{gone.pid}-Stale1"
    stale.mkdir()
    (stale / "1.sock").touch()
    kept = {
        "live": socket_directory / f"snakepit-rx-{os.getpid()}-Alive1",
        "a file": socket_directory / f"snakepit-rx-{gone.pid}-AFile1",
        "a link": socket_directory / f"snakepit-rx-{gone.pid}-ALink1",
        "another name": socket_directory / f"snakepit-rx-{gone.pid}-toolong",
    }
    kept["live"].mkdir()
    kept["a file"].touch()
    kept["a link"].symlink_to(kept["live"])
    kept["another name"].mkdir()

    assert unix_socket.sweep_stale_directories(str(socket_directory)) == [str(stale)]
    assert not stale.exists()
    assert {name: path.exists() for name, path in kept.items()} == dict.fromkeys(kept, True)


def test_the_goodbye_is_seen_across_reads_and_only_before_the_end() -> None:
    read_end, write_end = os.pipe()
    pipe = parent_pipe.ParentPipe(read_end)
    os.write(write_end, b"st")
    assert pipe.read()
    os.write(write_end, b"op\n")
    assert pipe.read()
    assert not pipe.pool_gone, "not ended yet"
    os.close(write_end)
    pipe.read_ready()
    assert not pipe.pool_gone, "it said goodbye"

    read_end, write_end = os.pipe()
    silent = parent_pipe.ParentPipe(read_end)
    os.close(write_end)
    silent.read_ready()
    assert silent.pool_gone


def test_a_socket_path_the_kernel_cannot_bind_fails_the_start_saying_why(spawn_worker: SpawnWorker) -> None:
    socket = "/tmp/" + "s" * 120 + ".sock"
    worker = spawn_worker("worker", "--adapter", "sample_adapters.SampleAdapter", "--socket", socket)

    report = worker.handshake(FAILED)

    assert f"more than {unix_socket.MAX_PATH_BYTES}" in report["message"]
    assert worker.wait() == 3


def test_socket_and_host_exclude_each_other(spawn_worker: SpawnWorker, socket_directory: Path) -> None:
    worker = spawn_worker(
        "worker",
        "--adapter",
        "sample_adapters.SampleAdapter",
        "--socket",
        str(socket_directory / "w.sock"),
        "--host",
        "::1",
    )

    assert worker.wait() == 2
    assert "not allowed with argument" in worker.stderr


def test_ping_over_the_socket_needs_the_token(
    spawn_worker: SpawnWorker, channels: OpenStub, socket_directory: Path
) -> None:
    socket = str(socket_directory / "worker-1.sock")
    start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter", "--socket", socket, token=TOKEN)
    stub = channels(f"unix:{socket}")

    with pytest.raises(Exception, match="UNAUTHENTICATED"):
        stub.Ping(pb.PingRequest(), timeout=support.TIMEOUT)
    assert stub.Ping(pb.PingRequest(), metadata=auth(), timeout=support.TIMEOUT).message == "pong"


def sndbuf(connection: socket.socket) -> int:
    return connection.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)


def enlarged_send_buffer() -> int:
    """The send buffer a connection has once the worker enlarged it: the kernel doubles what it is given, up
    to twice net.core.wmem_max (212992 by default on Linux)."""
    wmem_max = int(Path("/proc/sys/net/core/wmem_max").read_text()) if Path("/proc/sys").is_dir() else None
    return 2 * min(unix_socket.SEND_BUFFER_BYTES, wmem_max or unix_socket.SEND_BUFFER_BYTES)


@contextlib.contextmanager
def connection_on(path: str) -> Iterator[tuple[socket.socket, socket.socket, socket.socket]]:
    """A listener on ``path``, a client connected to it, and the connection it accepted; all closed after."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener, socket.socket(socket.AF_UNIX) as client:
        listener.bind(path)
        listener.listen()
        client.connect(path)
        accepted, _ = listener.accept()
        with accepted:
            yield listener, client, accepted


def test_connections_accepted_on_the_socket_get_a_send_buffer_as_large_as_the_kernel_allows(
    socket_directory: Path,
) -> None:
    path = str(socket_directory / "worker-1.sock")
    with connection_on(path) as (listener, client, accepted):
        before = sndbuf(accepted)
        done: set[tuple[int, int]] = set()

        assert unix_socket.enlarge_send_buffers(path, done) == 1
        assert unix_socket.enlarge_send_buffers(path, done) == 0, "each connection once"

        assert sndbuf(accepted) == enlarged_send_buffer() > before
        assert sndbuf(client) == before, "the other end of the connection is not ours to tune"
        assert sndbuf(listener) == before


def test_connections_that_closed_are_forgotten(socket_directory: Path) -> None:
    path = str(socket_directory / "worker-1.sock")
    done: set[tuple[int, int]] = set()
    with connection_on(path):
        assert unix_socket.enlarge_send_buffers(path, done) == 1
        assert len(done) == 1

    unix_socket.enlarge_send_buffers(path, done)

    assert done == set(), "closed connections are dropped, so that it stays bounded"


def test_looking_for_connections_leaves_no_descriptor_open(socket_directory: Path) -> None:
    # Files that are not sockets (a regular file, a pipe) once leaked a duplicate descriptor at every look:
    # a worker ran out of descriptors after some minutes (EMFILE in the middle of a call).
    path = str(socket_directory / "worker-1.sock")
    read_end, write_end = os.pipe()
    try:
        with tempfile.TemporaryFile() as regular_file:
            regular_file.write(b"x")
            before = len(os.listdir("/dev/fd"))
            done: set[tuple[int, int]] = set()
            for _ in range(50):
                unix_socket.enlarge_send_buffers(path, done)
            assert len(os.listdir("/dev/fd")) == before
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_worker_enlarges_the_send_buffer_of_its_pools_connection(
    spawn_worker: SpawnWorker, channels: OpenStub, socket_directory: Path
) -> None:
    if shutil.which("ss") is None:
        pytest.skip("needs ss (iproute2) to read another process's socket buffers")
    socket_path = str(socket_directory / "worker-1.sock")
    _, ready = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter", "--socket", socket_path)
    channels(f"unix:{socket_path}")

    def worker_send_buffers() -> list[int]:
        # ss -x -m -p: each Unix socket's memory (skmem: ..., tb<send buffer>, ...) and the processes holding it.
        listing = subprocess.run(["ss", "-xmp"], capture_output=True, text=True, check=True).stdout
        sockets = re.split(r"\n(?=u_str)", listing)
        return [
            int(match.group(1))
            for entry in sockets
            if f"pid={ready['pid']}," in entry and socket_path in entry and (match := re.search(r"tb(\d+)", entry))
        ]

    support.wait_until(lambda: enlarged_send_buffer() in worker_send_buffers())
