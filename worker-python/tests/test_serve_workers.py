"""`python -m snakepit_bridge serve --workers N`: one port, N worker processes, each call in one of them."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import support
from conftest import SpawnWorker, WorkerProcess
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sample_adapters import FAIL_MARKER_ENV, HELPER_DIR_ENV
from snakepit_bridge.log_records import LOG_PREFIX
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.proto import bridge_pb2_grpc
from test_worker_process import is_running, marker_lines

TOKEN = "dispatch-token"
READY = "SNAKEPIT_READY "
FAILED = "SNAKEPIT_FAILED "
AUTH = (("authorization", f"Bearer {TOKEN}"),)

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process trees from /proc")


class Endpoint:
    """A `serve --workers N` process and a channel to its port."""

    def __init__(self, process: WorkerProcess, ready: dict[str, Any]) -> None:
        self.process = process
        self.ready = ready
        self.channel = grpc.insecure_channel(f"127.0.0.1:{ready['port']}")
        self.stub = bridge_pb2_grpc.BridgeServiceStub(self.channel)

    def descendants(self) -> list[int]:
        return descendants_of(self.ready["pid"])

    def stream(
        self,
        tool: str,
        call_id: str,
        metadata: tuple[tuple[str, str], ...] = AUTH,
        session_id: str = "",
        **arguments: Any,
    ) -> Any:
        request = pb.ExecuteToolRequest(
            tool_name=tool, arguments=json.dumps(arguments).encode(), call_id=call_id, session_id=session_id
        )
        return self.stub.ExecuteStreamingTool(request, metadata=metadata, timeout=support.TIMEOUT)

    def execute(self, tool: str, session_id: str = "", metadata: tuple[tuple[str, str], ...] = AUTH) -> Any:
        request = pb.ExecuteToolRequest(tool_name=tool, session_id=session_id, call_id=f"{tool}-{time.monotonic()}")
        return json.loads(self.stub.ExecuteTool(request, metadata=metadata, timeout=support.TIMEOUT).result)


def descendants_of(pid: int) -> list[int]:
    found: list[int] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return found
    for child in map(int, children):
        found += [child, *descendants_of(child)]
    return found


@pytest.fixture
def serve_workers(spawn_worker: SpawnWorker) -> Iterator[Callable[..., Endpoint]]:
    endpoints: list[Endpoint] = []

    def start(
        count: int, *extra: str, adapter: str = "sample_adapters.SampleAdapter", env: dict[str, str] | None = None
    ) -> Endpoint:
        process = spawn_worker(
            "serve",
            "--adapter",
            adapter,
            "--port",
            "0",
            "--workers",
            str(count),
            *extra,
            env={"SNAKEPIT_TOKEN": TOKEN, **(env or {})},
        )
        endpoint = Endpoint(process, process.handshake(READY))
        endpoints.append(endpoint)
        return endpoint

    yield start
    for endpoint in endpoints:
        left = endpoint.descendants()
        endpoint.channel.close()
        endpoint.process.stop()
        # Killed with SIGKILL, the dispatcher leaves its worker processes to their parent-death signal.
        support.wait_until(lambda left=left: not any(is_running(pid) for pid in left))


def first_chunk(call: Any) -> Any:
    return json.loads(next(call).data)


def test_answers_ping_with_its_capacity_health_without_the_token_and_nothing_else_without_it(
    serve_workers: Callable[..., Endpoint],
) -> None:
    endpoint = serve_workers(2)
    pong = endpoint.stub.Ping(pb.PingRequest(message="hi"), metadata=AUTH, timeout=support.TIMEOUT)
    assert (pong.message, pong.capacity, pong.pid) == ("hi", 2, endpoint.ready["pid"])
    assert endpoint.ready["workers"] == 2
    assert len([pid for pid in endpoint.descendants() if is_running(pid)]) >= 2
    health = health_pb2_grpc.HealthStub(endpoint.channel)
    for service in ("", "snakepit_rx.bridge.v1.BridgeService"):
        response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=support.TIMEOUT)
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    for attempt in (lambda: endpoint.execute("pid", metadata=()), lambda: list(endpoint.stream("count", "c", (), n=2))):
        with pytest.raises(grpc.RpcError) as refused:
            attempt()
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert support.error_detail(refused.value).code == "unauthenticated"
    tools = endpoint.stub.ListTools(pb.ListToolsRequest(), metadata=AUTH, timeout=support.TIMEOUT)
    assert tools.adapter == "sample_adapters.SampleAdapter"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_call_without_the_token_is_refused_before_its_request_is_read(
    serve_workers: Callable[..., Endpoint], workers: int
) -> None:
    endpoint = serve_workers(workers)
    request = pb.ExecuteToolRequest(tool_name="echo", arguments=b"0" * (48 << 20)).SerializeToString()
    before = _peak_memory_mib(endpoint.ready["pid"])
    channel = grpc.insecure_channel(
        f"127.0.0.1:{endpoint.ready['port']}", options=[("grpc.max_send_message_length", 64 << 20)]
    )
    execute = channel.unary_unary("/snakepit_rx.bridge.v1.BridgeService/ExecuteTool")
    calls = [execute.future(request, timeout=support.TIMEOUT) for _ in range(4)]
    for call in calls:
        assert call.code() == grpc.StatusCode.UNAUTHENTICATED
        assert support.error_detail(call.exception()).code == "unauthenticated"
    channel.close()
    # Read, the four requests would take 192 MiB of the endpoint's memory at once; anyone can send them.
    assert _peak_memory_mib(endpoint.ready["pid"]) - before < 48


def _peak_memory_mib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) // 1024  # type: ignore[union-attr]


def test_a_request_that_does_not_parse_is_invalid_arguments_on_every_method(
    serve_workers: Callable[..., Endpoint],
) -> None:
    # The dispatcher answered UNKNOWN for Ping and AwaitCall and relayed its processes' INTERNAL for ListTools,
    # without an ErrorDetail: a pool takes those for a broken connection.
    endpoint = serve_workers(2)
    for method, request_type in support.REQUEST_TYPES.items():
        for payload in support.MALFORMED_REQUESTS.values():
            with pytest.raises(grpc.RpcError) as refused:
                support.call_with_bytes(endpoint.channel, method, payload, AUTH)
            detail = support.error_detail(refused.value)
            assert (refused.value.code(), detail.code, detail.message) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                "invalid_arguments",
                f"the request is not a valid {request_type} message",
            ), method
    assert endpoint.stub.Ping(pb.PingRequest(), metadata=AUTH, timeout=support.TIMEOUT).capacity == 2


def test_runs_calls_at_once_each_in_a_process_of_its_own_and_queues_the_next(
    serve_workers: Callable[..., Endpoint], tmp_path: Path
) -> None:
    endpoint = serve_workers(2)
    calls = [endpoint.stream("pid_ticker", f"t{n}", marker=str(tmp_path / f"m{n}")) for n in range(2)]
    pids = {first_chunk(call)["pid"] for call in calls}
    assert len(pids) == 2 and endpoint.ready["pid"] not in pids
    assert pids <= set(endpoint.descendants())

    third: list[int] = []
    waiting = threading.Thread(target=lambda: third.append(endpoint.execute("pid")))
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive(), "a third call waits while both processes are busy"
    calls[0].cancel()
    waiting.join(support.TIMEOUT)
    assert third and third[0] in pids
    calls[1].cancel()


def test_calls_beyond_what_its_processes_keep_waiting_are_refused_with_pool_saturated(
    serve_workers: Callable[..., Endpoint], tmp_path: Path
) -> None:
    # With 6 threads a single process keeps 1 call waiting (call_admission.waiting_room): the dispatcher keeps as
    # many for each of its processes, rather than hold every request that clients send in memory.
    endpoint = serve_workers(2, "--threads", "6")
    running = [endpoint.stream("marker_ticker", f"running-{n}", marker=str(tmp_path / f"marker-{n}")) for n in range(2)]
    for call in running:
        next(call)
    one_done = threading.Event()
    calls = []
    for name in ("b", "c", "d"):
        request = pb.ExecuteToolRequest(tool_name="pid", call_id=name)
        calls.append(endpoint.stub.ExecuteTool.future(request, metadata=AUTH, timeout=2 * support.TIMEOUT))
        calls[-1].add_done_callback(lambda _: one_done.set())
    # Whichever arrives last finds the waiting room full, and is answered while the others still wait.
    assert one_done.wait(support.TIMEOUT)
    (refused,) = [call for call in calls if call.done()]
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert support.error_detail(refused.exception()).code == "pool_saturated"
    for call in running:
        call.cancel()
    processes = endpoint.descendants()
    assert all(json.loads(call.result(support.TIMEOUT).result) in processes for call in calls if call is not refused)


def test_a_cancel_reaches_the_generator_and_its_process_serves_the_next_call(
    serve_workers: Callable[..., Endpoint], tmp_path: Path
) -> None:
    endpoint = serve_workers(2)
    marker = tmp_path / "marker"
    call = endpoint.stream("marker_ticker", "to-cancel", marker=str(marker))
    next(call)
    call.cancel()
    support.wait_until(lambda: marker_lines(marker) == ["started", "closed"])
    awaited = endpoint.stub.AwaitCall(
        pb.AwaitCallRequest(call_id="to-cancel", timeout_ms=5000), metadata=AUTH, timeout=support.TIMEOUT
    )
    assert awaited.ended
    assert len({endpoint.execute("pid") for _ in range(4)}) == 2


def test_a_process_that_dies_fails_only_its_call_and_is_replaced(
    serve_workers: Callable[..., Endpoint], tmp_path: Path
) -> None:
    endpoint = serve_workers(2)
    victim_call, other_call = (endpoint.stream("pid_ticker", f"t{n}", marker=str(tmp_path / f"m{n}")) for n in (1, 2))
    victim, other = first_chunk(victim_call)["pid"], first_chunk(other_call)["pid"]

    os.kill(victim, signal.SIGKILL)
    with pytest.raises(grpc.RpcError) as failed:
        for _ in victim_call:
            pass
    assert failed.value.code() == grpc.StatusCode.ABORTED
    detail = support.error_detail(failed.value)
    assert detail.code == "worker_crashed"
    assert f"(pid {victim}) died while running 'pid_ticker'" in detail.message
    seqs = [json.loads(next(other_call).data)["seq"] for _ in range(20)]
    assert seqs == sorted(seqs), "the other call streams on"
    other_call.cancel()

    pids = support.wait_until(lambda: {endpoint.execute("pid") for _ in range(6)} - {other} or None)
    assert victim not in pids, "a replacement serves"


def test_while_no_process_can_start_it_is_not_serving_and_refuses_calls_until_one_runs(
    serve_workers: Callable[..., Endpoint], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    # `--workers 1` runs no dispatcher: its one process is the endpoint.
    endpoint = serve_workers(2, adapter="sample_adapters.FragileAdapter", env={FAIL_MARKER_ENV: str(broken)})
    health = health_pb2_grpc.HealthStub(endpoint.channel)
    # The BridgeService's status is set after the overall one: once it changes, both have.
    statuses = (
        update.status
        for update in health.Watch(
            health_pb2.HealthCheckRequest(service="snakepit_rx.bridge.v1.BridgeService"), timeout=support.TIMEOUT * 3
        )
    )
    assert next(statuses) == health_pb2.HealthCheckResponse.SERVING
    # Calls go to the process free the longest: two in a row meet both.
    children = {endpoint.execute("pid") for _ in range(2)}
    assert len(children) == 2

    broken.touch()
    for child in children:
        os.kill(child, signal.SIGKILL)
    assert next(statuses) == health_pb2.HealthCheckResponse.NOT_SERVING
    overall = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=support.TIMEOUT)
    assert overall.status == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(grpc.RpcError) as pinged:
        endpoint.stub.Ping(pb.PingRequest(), metadata=AUTH, timeout=support.TIMEOUT)
    assert pinged.value.code() == grpc.StatusCode.UNAVAILABLE
    # The first call may wait for the replacement to fail; the next ones are refused at once.
    for attempt in (lambda: endpoint.execute("pid"), lambda: list(endpoint.stream("count", "refused", n=2))):
        with pytest.raises(grpc.RpcError) as refused:
            attempt()
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        detail = support.error_detail(refused.value)
        assert detail.code == "worker_unavailable"
        assert "no worker process is running and replacements keep failing" in detail.message
        assert f"the model cannot load ({broken} exists)" in detail.message
        assert ("snakepit-not-started", "1") in tuple(refused.value.trailing_metadata() or ())

    broken.unlink()
    assert next(statuses) == health_pb2.HealthCheckResponse.SERVING
    assert endpoint.execute("pid") not in children
    assert [
        json.loads(chunk.data)["seq"] for chunk in endpoint.stream("count", "again", n=2) if not chunk.is_final
    ] == [0, 1]
    pong = endpoint.stub.Ping(pb.PingRequest(), metadata=AUTH, timeout=support.TIMEOUT)
    assert pong.capacity == 2


def test_a_process_that_stops_answering_is_killed_its_call_fails_and_it_is_replaced(
    serve_workers: Callable[..., Endpoint], tmp_path: Path
) -> None:
    endpoint = serve_workers(2, "--worker-timeout", "0.5")
    call = endpoint.stream("pid_ticker", "hung", marker=str(tmp_path / "m"))
    hung = first_chunk(call)["pid"]
    started = time.monotonic()
    os.kill(hung, signal.SIGSTOP)
    with pytest.raises(grpc.RpcError) as failed:
        for _ in call:
            pass
    assert time.monotonic() - started < 5
    detail = support.error_detail(failed.value)
    assert detail.code == "worker_crashed"
    assert "did not answer its health ping within 0.5 s" in detail.message
    support.wait_until(lambda: not is_running(hung))
    support.wait_until(lambda: len({endpoint.execute("pid") for _ in range(4)} - {hung}) == 2)


def test_a_tool_that_ignores_its_cancel_gets_its_process_replaced_when_awaited(
    serve_workers: Callable[..., Endpoint],
) -> None:
    endpoint = serve_workers(2)
    call = endpoint.stream("yield_then_sleep", "stuck", seconds=60)
    stuck = first_chunk(call)["pid"]
    call.cancel()
    awaited = endpoint.stub.AwaitCall(
        pb.AwaitCallRequest(call_id="stuck", timeout_ms=200), metadata=AUTH, timeout=support.TIMEOUT
    )
    assert awaited.ended, "answered once the process is gone"
    assert not is_running(stuck)
    support.wait_until(lambda: len({endpoint.execute("pid") for _ in range(4)}) == 2)


def test_a_session_stays_on_its_process_and_a_strict_one_waits_for_it(
    serve_workers: Callable[..., Endpoint], tmp_path: Path
) -> None:
    endpoint = serve_workers(3)
    first = endpoint.execute("pid", session_id="s")
    assert [endpoint.execute("pid", session_id="s") for _ in range(5)] == [first] * 5

    # The session's process is busy with another of its calls: a strict call waits for it.
    holding = endpoint.stream("pid_ticker", "hold", session_id="s", marker=str(tmp_path / "m"))
    assert first_chunk(holding)["pid"] == first
    strict = (*AUTH, ("snakepit-session-affinity", "strict"))
    outcome: list[int] = []
    waiting = threading.Thread(target=lambda: outcome.append(endpoint.execute("pid", "s", strict)))
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive(), "a strict call waits while another process is free"
    assert endpoint.execute("pid", session_id="s") != first, "a call that prefers moves on"
    holding.cancel()
    waiting.join(support.TIMEOUT)
    assert outcome == [first]


def test_sigterm_closes_running_generators_and_stops_every_process(
    serve_workers: Callable[..., Endpoint], tmp_path: Path
) -> None:
    endpoint = serve_workers(2)
    marker = tmp_path / "marker"
    call = endpoint.stream("marker_ticker", "running", marker=str(marker))
    next(call)
    processes = endpoint.descendants()
    endpoint.process.process.send_signal(signal.SIGTERM)
    assert endpoint.process.wait() == 0
    assert marker_lines(marker) == ["started", "closed"], endpoint.process.stderr
    support.wait_until(lambda: not any(is_running(pid) for pid in processes))


def socket_of(pid: int) -> str | None:
    """The Unix socket a worker process was told to listen on (``--socket``), if any."""
    arguments = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return arguments[arguments.index("--socket") + 1] if "--socket" in arguments else None


def test_its_processes_listen_on_unix_sockets_in_a_private_directory_removed_when_it_stops(
    serve_workers: Callable[..., Endpoint],
) -> None:
    endpoint = serve_workers(2)
    sockets = {path for pid in endpoint.descendants() if (path := socket_of(pid)) is not None}

    # Under a supervisor, the two processes of a worker share its command line.
    assert len(sockets) == 2, sockets
    directory = Path(next(iter(sockets))).parent
    assert {Path(path).parent for path in sockets} == {directory}
    # Named as a pool's directory, so that a pool starting later removes it if the endpoint died without.
    assert re.fullmatch(rf"snakepit-rx-{endpoint.ready['pid']}-[A-Za-z0-9]{{6}}", directory.name)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in sockets:
        assert stat.S_ISSOCK(os.stat(path).st_mode) and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert isinstance(endpoint.execute("pid"), int), "calls reach the processes on their sockets"

    endpoint.process.process.send_signal(signal.SIGTERM)
    assert endpoint.process.wait() == 0
    assert not directory.exists()


def test_when_it_is_killed_its_processes_go_and_the_last_removes_their_sockets_directory(
    serve_workers: Callable[..., Endpoint],
) -> None:
    endpoint = serve_workers(2)
    (directory,) = {Path(path).parent for pid in endpoint.descendants() if (path := socket_of(pid)) is not None}

    kill_and_see_its_processes_remove(endpoint, directory)


def kill_and_see_its_processes_remove(endpoint: Endpoint, directory: Path) -> None:
    """Kills the dispatcher (SIGKILL); its processes go, and the last to end removes their sockets' directory."""
    processes = endpoint.descendants()
    os.kill(endpoint.ready["pid"], signal.SIGKILL)

    support.wait_until(lambda: not any(is_running(pid) for pid in processes))
    support.wait_until(lambda: not directory.exists())


def test_a_process_killed_with_its_supervisor_leaves_no_socket_so_the_last_one_still_removes_the_directory(
    serve_workers: Callable[..., Endpoint],
) -> None:
    endpoint = serve_workers(2)
    victim = endpoint.execute("pid")
    victim_socket = socket_of(victim)
    assert victim_socket is not None
    directory = Path(victim_socket).parent
    # The whole worker, its supervisor too, as the OOM killer or a `kill -9` of its group would: nothing of it
    # is left to remove its socket file.
    for pid in endpoint.descendants():
        if socket_of(pid) == victim_socket:
            os.kill(pid, signal.SIGKILL)

    support.wait_until(lambda: not os.path.exists(victim_socket))
    support.wait_until(lambda: len({endpoint.execute("pid") for _ in range(6)}) == 2)
    kill_and_see_its_processes_remove(endpoint, directory)


def test_it_removes_the_sockets_directories_that_dead_pools_and_endpoints_left_when_it_starts(
    serve_workers: Callable[..., Endpoint],
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    base = Path(tempfile.gettempdir())
    stale, live = base / f"snakepit-rx-{gone.pid}-Stale1", base / f"snakepit-rx-{os.getpid()}-Alive1"
    for directory in (stale, live):
        directory.mkdir(mode=0o700)
        (directory / "1.sock").touch()
    try:
        serve_workers(2)
        assert not stale.exists()
        assert live.exists(), "a live process's directory stays"
    finally:
        shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(live, ignore_errors=True)


def test_snakepit_log_level_none_serves(serve_workers: Callable[..., Endpoint]) -> None:
    endpoint = serve_workers(2, env={"SNAKEPIT_LOG_LEVEL": "none"})

    assert endpoint.execute("pid") in endpoint.descendants()


def test_a_process_that_cannot_start_fails_the_start_with_pythons_account(spawn_worker: SpawnWorker) -> None:
    process = spawn_worker(
        "serve", "--adapter", "no_such_module.Adapter", "--workers", "2", "--port", "0", env={"SNAKEPIT_TOKEN": TOKEN}
    )
    report = process.handshake(FAILED)
    assert report["type"] == "ModuleNotFoundError"
    assert "no_such_module" in report["message"]
    assert process.wait() == 3


def test_a_process_that_fails_to_start_leaves_nothing_behind_even_in_a_session_of_its_own(
    spawn_worker: SpawnWorker, tmp_path: Path
) -> None:
    process = spawn_worker(
        "serve",
        "--adapter",
        "sample_adapters.HelperLeavingAdapter",
        "--workers",
        "2",
        "--port",
        "0",
        env={"SNAKEPIT_TOKEN": TOKEN, HELPER_DIR_ENV: str(tmp_path)},
    )
    assert process.handshake(FAILED)["message"] == "the model cannot load"
    assert process.wait() == 3

    helpers = [int(found.name) for found in tmp_path.iterdir()]
    assert helpers
    support.wait_until(lambda: not any(is_running(pid) for pid in helpers))


def test_its_processes_log_text_with_the_call_and_trace_as_serve_does(serve_workers: Callable[..., Endpoint]) -> None:
    endpoint = serve_workers(2)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    request = pb.ExecuteToolRequest(
        tool_name="log_warning", arguments=b'{"message": "disk almost full"}', call_id="w-1"
    )
    metadata = (*AUTH, ("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01"))

    endpoint.stub.ExecuteTool(request, metadata=metadata, timeout=support.TIMEOUT)

    line = support.wait_until(
        lambda: next((x for x in endpoint.process.stderr.splitlines() if "disk almost full" in x), None)
    )
    assert LOG_PREFIX not in endpoint.process.stderr, "an operator reads an endpoint's log as text, not a pool's JSON"
    assert f"WARNING [{endpoint.ready['worker_id']}/" in line
    assert f"[call=w-1 trace={trace_id}] sample_adapters: disk almost full" in line


def test_threads_keeps_its_former_name_max_workers(serve_workers: Callable[..., Endpoint]) -> None:
    for flag in ("--threads", "--max-workers"):
        endpoint = serve_workers(2, flag, "2")
        assert endpoint.execute("pid") in endpoint.descendants()
