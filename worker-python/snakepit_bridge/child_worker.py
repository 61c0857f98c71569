"""One worker process behind a `serve --workers N` endpoint, as its dispatcher starts, reaches and ends it.

Each is started exactly as a pool starts its child workers (`python -m snakepit_bridge worker`): under its
supervisor on Linux (supervisor.py), on a Unix socket in the dispatcher's private directory (on loopback
where there are none), with a token of the dispatcher's own on the first line of its stdin, and gone when the
dispatcher is (stdin closes; the kernel's parent-death signal).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass
from typing import Any

import grpc

from snakepit_bridge import supervisor
from snakepit_bridge.grpc_services import BRIDGE_SERVICE_NAME
from snakepit_bridge.parent_pipe import STOP_LINE
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.worker_main import FAILED_PREFIX, READY_PREFIX

logger = logging.getLogger(__name__)

# How long a supervisor gets to end what its killed worker left before it is killed too (as lib/worker/worker-process.ts).
_SUPERVISOR_CLEANUP_SECONDS = 1.0
# How long a supervisor asked to stop may take: its worker's grace, then the clean-up.
_SUPERVISOR_STOP_SECONDS = supervisor.STOP_GRACE_SECONDS + _SUPERVISOR_CLEANUP_SECONDS
_STARTS = itertools.count(1)


def method_path(method: str) -> str:
    return f"/{BRIDGE_SERVICE_NAME}/{method}"


@dataclass(frozen=True)
class ChildOptions:
    adapter: str
    token: str
    max_message_bytes: int
    threads: int
    log_level: str
    start_timeout: float
    # Where the processes' sockets go (unix_socket.private_directory); None: on loopback ports instead.
    socket_dir: str | None = None


class ChildStartFailed(Exception):
    """A worker process could not start; carries Python's own account when the process gave one."""

    def __init__(self, message: str, report: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.report = report


class ChildWorker:
    """A running worker process and the channel to it. Compared by identity: a replacement is another one."""

    def __init__(
        self,
        worker_id: str,
        process: asyncio.subprocess.Process,
        pid: int,
        channel: grpc.aio.Channel,
        socket_path: str | None = None,
    ) -> None:
        self.worker_id = worker_id
        self.process = process
        # The process serving calls: under a supervisor, a child of `process`.
        self.pid = pid
        self.channel = channel
        self.socket_path = socket_path
        self._metadata: tuple[tuple[str, str], ...] = ()
        # Why the dispatcher ended it, when it did: the relayed call's error says so.
        self.kill_reason: str | None = None

    @classmethod
    async def start(cls, worker_id: str, options: ChildOptions) -> ChildWorker:
        # A name of its own for each process: a killed one leaves its socket file behind.
        socket_path = None if options.socket_dir is None else os.path.join(options.socket_dir, f"{next(_STARTS)}.sock")
        listen = [] if socket_path is None else ["--socket", socket_path]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "snakepit_bridge",
            "worker",
            "--adapter",
            options.adapter,
            "--worker-id",
            worker_id,
            "--max-message-bytes",
            str(options.max_message_bytes),
            "--threads",
            str(options.threads),
            "--log-level",
            options.log_level,
            "--parent-pid",
            str(os.getpid()),
            # Its records go to the endpoint's stderr, which an operator reads, not a pool.
            "--log-format",
            "text",
            *listen,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            # Its logs go where ours go.
            stderr=None,
            # A group of its own: a terminal's Ctrl-C reaches the dispatcher, which stops its workers in order.
            start_new_session=True,
        )
        assert process.stdin is not None
        # Kept open: the worker (or its supervisor) stops when it closes, however the dispatcher ends.
        process.stdin.write(f"{options.token}\n".encode())
        try:
            handshake = await asyncio.wait_for(_read_handshake(process, worker_id), options.start_timeout)
            channel = grpc.aio.insecure_channel(
                f"unix:{handshake['socket']}" if socket_path else f"127.0.0.1:{handshake['port']}",
                options=[
                    ("grpc.max_send_message_length", options.max_message_bytes),
                    ("grpc.max_receive_message_length", options.max_message_bytes),
                ],
            )
            await asyncio.wait_for(channel.channel_ready(), options.start_timeout)
        except BaseException as error:
            await _abandon_start(process)
            if isinstance(error, TimeoutError):
                raise ChildStartFailed(f"worker {worker_id} did not start within {options.start_timeout} s") from None
            raise
        child = cls(worker_id, process, int(handshake["pid"]), channel, socket_path)
        child._metadata = (("authorization", f"Bearer {options.token}"),)
        return child

    @property
    def exited(self) -> bool:
        return self.process.returncode is not None

    def metadata(self, forwarded: tuple[tuple[str, str | bytes], ...] = ()) -> tuple[tuple[str, str | bytes], ...]:
        """What a call to this process carries: the client's own metadata, and the dispatcher's token."""
        return (*forwarded, *self._metadata)

    async def ping(self, timeout: float) -> None:
        ping = self.channel.unary_unary(
            method_path("Ping"),
            request_serializer=pb.PingRequest.SerializeToString,
            response_deserializer=pb.PingResponse.FromString,
        )
        await ping(pb.PingRequest(), metadata=self._metadata, timeout=timeout)

    async def await_call(self, call_id: str, timeout: float) -> bool:
        """Whether the call's tool ended within `timeout` seconds (AwaitCall); False when the process cannot say."""
        await_call = self.channel.unary_unary(
            method_path("AwaitCall"),
            request_serializer=pb.AwaitCallRequest.SerializeToString,
            response_deserializer=pb.AwaitCallResponse.FromString,
        )
        try:
            response = await await_call(
                pb.AwaitCallRequest(call_id=call_id, timeout_ms=int(timeout * 1000)),
                metadata=self._metadata,
                timeout=timeout + 1.0,
            )
        except (grpc.aio.AioRpcError, grpc.aio.UsageError):
            # UsageError: the process exited, and its channel is closed.
            return False
        return bool(response.ended)

    def kill(self, reason: str) -> None:
        """Ends the process at once, as a crash would; the dispatcher replaces it once it has exited."""
        if self.exited:
            return
        self.kill_reason = self.kill_reason or reason
        logger.warning("killing worker %s (pid %d): %s", self.worker_id, self.pid, reason)
        if self.pid == self.process.pid:
            _kill_group(self.process)
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        asyncio.get_running_loop().call_later(_SUPERVISOR_CLEANUP_SECONDS, _kill_group, self.process)

    async def stop(self, grace: float) -> None:
        """Asks the process to stop (its running tools are closed), and kills it after `grace` seconds."""
        if not self.exited:
            assert self.process.stdin is not None
            # The pool's goodbye: a process whose stdin ends without it takes the dispatcher for dead, and
            # removes the sockets' directory, which is the dispatcher's to remove (parent_pipe.py).
            self.process.stdin.write(STOP_LINE)
            self.process.stdin.close()
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                _kill_group(self.process)
        await self.process.wait()
        await self.channel.close()


async def _read_handshake(process: asyncio.subprocess.Process, worker_id: str) -> dict[str, Any]:
    assert process.stdout is not None
    while line := (await process.stdout.readline()).decode("utf-8", "replace"):
        if line.startswith(READY_PREFIX):
            ready: dict[str, Any] = json.loads(line[len(READY_PREFIX) :])
            return ready
        if line.startswith(FAILED_PREFIX):
            report: dict[str, str] = json.loads(line[len(FAILED_PREFIX) :])
            raise ChildStartFailed(f"{report['type']}: {report['message']}", report)
        logger.info("[%s] %s", worker_id, line.rstrip("\n"))
    code = await process.wait()
    raise ChildStartFailed(f"worker {worker_id} exited before it was ready (code {code})")


async def _abandon_start(process: asyncio.subprocess.Process) -> None:
    """Ends a process that failed to start. Its supervisor, once the worker is gone, ends every process below it,
    those in sessions of their own too (an adapter's initialize() may have started some): it is asked to stop (it
    does at once when the worker exited, as one whose start fails does), and its group is killed only if it has
    not within _SUPERVISOR_STOP_SECONDS. Killing the group at once would leave those processes behind."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), _SUPERVISOR_STOP_SECONDS)
    _kill_group(process)
    await process.wait()


def _kill_group(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
