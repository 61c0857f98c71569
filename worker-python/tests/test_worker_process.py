"""The worker process: `python -m snakepit_bridge worker|serve`, started as a pool starts it."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import support
from conftest import SpawnWorker, WorkerProcess
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.proto import bridge_pb2_grpc

READY = "SNAKEPIT_READY "
FAILED = "SNAKEPIT_FAILED "
TOKEN = "worker-test-token"

OpenStub = Callable[[int | str], bridge_pb2_grpc.BridgeServiceStub]


def auth(token: str = TOKEN) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


def start_ready(
    spawn_worker: SpawnWorker, *args: str, env: dict[str, str] | None = None, token: str | None = None
) -> tuple[WorkerProcess, dict]:
    worker = spawn_worker("worker", *args, env=env, token=token)
    return worker, worker.handshake(READY)


def request(tool_name: str, **arguments: object) -> pb.ExecuteToolRequest:
    return pb.ExecuteToolRequest(tool_name=tool_name, arguments=json.dumps(arguments).encode(), call_id="c")


def marker_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_ready_line_then_calls_work(spawn_worker: SpawnWorker, channels: OpenStub) -> None:
    worker, ready = start_ready(
        spawn_worker, "--adapter", "sample_adapters:SampleAdapter", "--worker-id", "w-1", token=TOKEN
    )

    assert set(ready) == {"port", "pid", "worker_id"}
    # On Linux the process started runs the worker as its child, under its supervision.
    assert ready["pid"] == worker.process.pid or parent_of(ready["pid"]) == worker.process.pid
    assert ready["worker_id"] == "w-1"
    stub = channels(ready["port"])
    pong = stub.Ping(pb.PingRequest(), metadata=auth(), timeout=support.TIMEOUT)
    assert (pong.worker_id, pong.pid) == ("w-1", ready["pid"])
    assert stub.ExecuteTool(request("add", a=2, b=3), metadata=auth(), timeout=support.TIMEOUT).result == b"5"
    chunks = list(stub.ExecuteStreamingToolBatched(request("count", n=3), metadata=auth(), timeout=support.TIMEOUT))
    assert [value for batch in chunks for value in json.loads(batch.json_run)] == [{"seq": i} for i in range(3)]
    assert stub.ListTools(pb.ListToolsRequest(), metadata=auth(), timeout=support.TIMEOUT).adapter == (
        "sample_adapters.SampleAdapter"
    )


def test_a_worker_lets_its_sending_thread_have_the_gil_within_a_millisecond(
    spawn_worker: SpawnWorker, channels: OpenStub
) -> None:
    # A chunk waits for the sending thread while the tool computes on: Python's 5 ms switch interval delayed it.
    _, ready = start_ready(spawn_worker, "--adapter", "sample_adapters:SampleAdapter", token=TOKEN)
    answer = channels(ready["port"]).ExecuteTool(request("switch_interval"), metadata=auth(), timeout=support.TIMEOUT)

    assert json.loads(answer.result) == 0.001


def test_a_child_worker_takes_its_token_from_stdin_never_from_its_environment(
    spawn_worker: SpawnWorker, channels: OpenStub
) -> None:
    _, ready = start_ready(
        spawn_worker, "--adapter", "sample_adapters.SampleAdapter", env={"SNAKEPIT_TOKEN": "from-the-env"}, token=TOKEN
    )
    stub = channels(ready["port"])

    with pytest.raises(grpc.RpcError) as refused:
        stub.Ping(pb.PingRequest(), metadata=auth("from-the-env"), timeout=support.TIMEOUT)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, "a child worker's token comes on stdin only"
    assert stub.Ping(pb.PingRequest(), metadata=auth(), timeout=support.TIMEOUT).message == "pong"
    seen = stub.ExecuteTool(
        request("environment_variable", name="SNAKEPIT_TOKEN"), metadata=auth(), timeout=support.TIMEOUT
    )
    assert json.loads(seen.result) == "from-the-env", "the worker leaves its environment alone (a pool clears it)"
    if Path("/proc").is_dir():
        assert TOKEN.encode() not in Path(f"/proc/{ready['pid']}/environ").read_bytes()


def test_an_empty_token_line_serves_without_a_token_and_warns(spawn_worker: SpawnWorker, channels: OpenStub) -> None:
    worker, ready = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter")

    assert channels(ready["port"]).Ping(pb.PingRequest(), timeout=support.TIMEOUT).message == "pong"
    support.wait_until(lambda: "serving without a token" in worker.stderr)


def test_worker_id_defaults_to_host_and_pid(spawn_worker: SpawnWorker) -> None:
    _, ready = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter")

    assert ready["worker_id"].endswith(f":{ready['pid']}")


def test_snakepit_log_level_none_serves_and_logs_nothing(spawn_worker: SpawnWorker, channels: OpenStub) -> None:
    worker, ready = start_ready(
        spawn_worker, "--adapter", "sample_adapters.SampleAdapter", env={"SNAKEPIT_LOG_LEVEL": "none"}, token=TOKEN
    )
    stub = channels(ready["port"])

    stub.ExecuteTool(request("log_warning", message="disk almost full"), metadata=auth(), timeout=support.TIMEOUT)

    worker.stop()
    assert "disk almost full" not in worker.stderr


def test_an_unknown_log_level_fails_the_start_naming_the_levels(spawn_worker: SpawnWorker) -> None:
    worker = spawn_worker("worker", "--adapter", "sample_adapters.SampleAdapter", "--log-level", "verbose")

    assert worker.wait() != 0
    assert worker.remaining_stdout() == []
    last_line = worker.stderr.strip().splitlines()[-1]
    assert last_line == "ValueError: unknown log level 'verbose': use debug, info, warning, error, critical or none"


@pytest.mark.parametrize(
    ("adapter", "python_type", "message"),
    [
        ("broken_adapter.Adapter", "broken_adapter.AdapterConfigMissing", "MODEL_PATH is not set"),
        ("no_such_module_for_snakepit.Adapter", "ModuleNotFoundError", "No module named 'no_such_module_for_snakepit'"),
        ("sample_adapters.NotAnAdapter", "snakepit_bridge.adapter_loader.AdapterPathError", "not a subclass"),
        ("NoModule", "snakepit_bridge.adapter_loader.AdapterPathError", "'module.Class' or 'module:Class'"),
    ],
    ids=["import raises", "missing module", "not an adapter", "malformed"],
)
def test_a_failed_start_reports_pythons_account_on_stdout(
    spawn_worker: SpawnWorker, adapter: str, python_type: str, message: str
) -> None:
    worker = spawn_worker("worker", "--adapter", adapter)

    report = worker.handshake(FAILED)

    assert set(report) == {"type", "message", "traceback"}
    assert report["type"] == python_type
    assert message in report["message"]
    assert report["traceback"].startswith("Traceback (most recent call last):")
    assert worker.wait() == 3
    assert worker.remaining_stdout() == [], "the report is the only line on stdout"
    assert message in worker.stderr, "the failure is logged on stderr as well"


def test_prints_from_tools_and_imports_go_to_stderr_not_stdout(spawn_worker: SpawnWorker, channels: OpenStub) -> None:
    worker, ready = start_ready(spawn_worker, "--adapter", "noisy_adapter.NoisyAdapter")
    stub = channels(ready["port"])

    response = stub.ExecuteTool(request("noisy", text="stray output from a tool"), timeout=support.TIMEOUT)

    assert json.loads(response.result) == "printed"
    support.wait_until(lambda: "stray output from a tool" in worker.stderr)
    assert "noisy_adapter: printed at import time" in worker.stderr
    worker.process.stdin.close()
    assert worker.wait() == 0
    assert worker.remaining_stdout() == [], "nothing but the handshake may reach stdout"


def test_a_tool_reading_stdin_sees_end_of_file(spawn_worker: SpawnWorker, channels: OpenStub) -> None:
    worker, ready = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter")
    stub = channels(ready["port"])
    worker.process.stdin.write(b"the parent's pipe is not for tools\n")
    worker.process.stdin.flush()

    response = stub.ExecuteTool(request("read_stdin"), timeout=support.TIMEOUT)

    assert json.loads(response.result) == ""
    assert worker.process.poll() is None, "writing to the pipe must not stop the worker"


def test_worker_exits_when_its_stdin_closes(spawn_worker: SpawnWorker) -> None:
    worker, _ = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter")

    worker.process.stdin.close()

    assert worker.wait() == 0


def test_sigterm_stops_the_worker(spawn_worker: SpawnWorker) -> None:
    worker, _ = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter")

    worker.process.send_signal(signal.SIGTERM)

    assert worker.wait() == 0


@pytest.mark.parametrize("tool_name", ["marker_ticker", "async_marker_ticker"])
@pytest.mark.parametrize("stop", ["stdin", "sigterm"])
def test_a_stopping_worker_closes_running_generators_first(
    spawn_worker: SpawnWorker, channels: OpenStub, tmp_path: Path, tool_name: str, stop: str
) -> None:
    worker, ready = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter")
    stub = channels(ready["port"])
    marker = tmp_path / "marker.txt"
    call = stub.ExecuteStreamingTool(request(tool_name, marker=str(marker)), timeout=support.TIMEOUT)
    next(call)
    assert marker_lines(marker) == ["started"]

    if stop == "stdin":
        worker.process.stdin.close()
    else:
        worker.process.send_signal(signal.SIGTERM)

    assert worker.wait() == 0
    call.cancel()
    assert marker_lines(marker) == ["started", "closed"], "the worker exited before the generator's finally ran"


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def is_running(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_a_stopping_worker_stops_what_its_tools_started(spawn_worker: SpawnWorker, channels: OpenStub) -> None:
    worker, ready = start_ready(spawn_worker, "--adapter", "sample_adapters.SampleAdapter")
    stub = channels(ready["port"])
    child_pid = json.loads(stub.ExecuteTool(request("start_child_process"), timeout=support.TIMEOUT).result)
    assert is_running(child_pid)

    try:
        worker.process.stdin.close()
        assert worker.wait() == 0
        support.wait_until(lambda: not is_running(child_pid))
    finally:
        # Should the worker have failed to, never leave the child behind.
        try:
            if is_running(child_pid) and os.getpgid(child_pid) == worker.process.pid:
                os.kill(child_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- serve -----------------------------------------------------------------------------------


def serving_port(worker: WorkerProcess) -> int:
    found = support.wait_until(lambda: re.search(r"serving \S+ on 127\.0\.0\.1:(\d+)", worker.stderr))
    return int(found.group(1))


def test_serve_with_a_token_file(spawn_worker: SpawnWorker, channels: OpenStub, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    worker = spawn_worker(
        "serve", "--adapter", "sample_adapters.SampleAdapter", "--port", "0", "--token-file", str(token_file)
    )
    stub = channels(serving_port(worker))

    with pytest.raises(grpc.RpcError) as refused:
        stub.Ping(pb.PingRequest(), timeout=support.TIMEOUT)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert stub.ExecuteTool(request("add", a=1, b=1), metadata=auth(), timeout=support.TIMEOUT).result == b"2"

    # A standalone server has no parent to watch: its stdin closing does not stop it.
    worker.process.stdin.close()
    assert stub.Ping(pb.PingRequest(), metadata=auth(), timeout=support.TIMEOUT).message == "pong"

    worker.process.send_signal(signal.SIGTERM)
    assert worker.wait() == 0
    ready = worker.remaining_stdout()
    assert len(ready) == 1 and ready[0].startswith("SNAKEPIT_READY "), "serve mode reports its port, and nothing else"
    assert json.loads(ready[0].split(" ", 1)[1])["port"] == serving_port(worker)


def test_serve_with_a_token_from_a_named_variable(spawn_worker: SpawnWorker, channels: OpenStub) -> None:
    worker = spawn_worker(
        "serve",
        "--adapter",
        "sample_adapters.SampleAdapter",
        "--port",
        "0",
        "--token-env",
        "MY_BRIDGE_TOKEN",
        env={"MY_BRIDGE_TOKEN": TOKEN},
    )
    stub = channels(serving_port(worker))

    assert stub.Ping(pb.PingRequest(), metadata=auth(), timeout=support.TIMEOUT).message == "pong"
    with pytest.raises(grpc.RpcError) as refused:
        stub.Ping(pb.PingRequest(), metadata=auth("wrong"), timeout=support.TIMEOUT)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    hidden = stub.ExecuteTool(
        request("environment_variable", name="MY_BRIDGE_TOKEN"), metadata=auth(), timeout=support.TIMEOUT
    )
    assert json.loads(hidden.result) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "my-host.example"])
def test_serve_refuses_to_listen_beyond_loopback_without_a_token(spawn_worker: SpawnWorker, host: str) -> None:
    worker = spawn_worker("serve", "--adapter", "sample_adapters.SampleAdapter", "--port", "0", "--host", host)

    report = worker.handshake(FAILED)

    assert "without a token" in report["message"] and "--insecure" in report["message"]
    assert worker.wait() == 3


def test_serve_beyond_loopback_without_a_token_with_insecure_serves_and_warns(
    spawn_worker: SpawnWorker, channels: OpenStub
) -> None:
    worker = spawn_worker(
        "serve", "--adapter", "sample_adapters.SampleAdapter", "--port", "0", "--host", "0.0.0.0", "--insecure"
    )

    ready = worker.handshake(READY)

    assert channels(ready["port"]).Ping(pb.PingRequest(), timeout=support.TIMEOUT).message == "pong"
    assert "serving without a token" in worker.stderr


def test_serve_on_loopback_without_a_token_serves_and_warns(spawn_worker: SpawnWorker) -> None:
    worker = spawn_worker("serve", "--adapter", "sample_adapters.SampleAdapter", "--port", "0")

    worker.handshake(READY)

    support.wait_until(lambda: "serving without a token" in worker.stderr)


def test_serve_with_a_token_does_not_warn(spawn_worker: SpawnWorker) -> None:
    worker = spawn_worker(
        "serve", "--adapter", "sample_adapters.SampleAdapter", "--port", "0", env={"SNAKEPIT_TOKEN": TOKEN}
    )

    worker.handshake(READY)
    support.wait_until(lambda: "serving sample_adapters.SampleAdapter" in worker.stderr)

    assert "without a token" not in worker.stderr
