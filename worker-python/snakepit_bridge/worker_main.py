"""Runs a worker: loads the adapter, serves it, reports readiness, and stops when told to or orphaned."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import select
import signal
import socket
import ssl
import sys
import threading
from pathlib import Path
from typing import TextIO

from snakepit_bridge import otel_setup, parent_pipe, unix_socket
from snakepit_bridge.adapter_loader import load_adapter
from snakepit_bridge.call_admission import waiting_room
from snakepit_bridge.errors import from_exception
from snakepit_bridge.grpc_services import Health
from snakepit_bridge.log_records import WORKER_HANDLER_NAME, CallFilter, RecordFormatter
from snakepit_bridge.logging_config import level_named
from snakepit_bridge.server import TlsFiles, start_server
from snakepit_bridge.servicer import BridgeServicer, Limits
from snakepit_bridge.snakepit_api import run_lifecycle_hook
from snakepit_bridge.worker_token import check_exposure, read_serve_token

READY_PREFIX = "SNAKEPIT_READY "
FAILED_PREFIX = "SNAKEPIT_FAILED "

logger = logging.getLogger("snakepit_bridge")


# A chunk a tool yields is sent by another thread, which needs the GIL: while the tool computes on in
# Python after its yield, that thread waits for the interpreter's switch interval before it may send
# (5 ms by default). At 1 ms a chunk from a computing tool arrives about 4 ms sooner, and streams run no
# slower (bench/micro/busy-tool-latency.ts).
SWITCH_INTERVAL_SECONDS = 0.001


def _take_stdio() -> tuple[TextIO, int]:
    """Keeps the parent's stdout for the handshake and its stdin for the orphan check.

    Everything else a tool prints goes to stderr, and a tool that reads stdin
    sees end of file: neither can disturb the protocol with the parent.
    """
    handshake = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    parent_fd = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return handshake, parent_fd


class _StopRequest:
    """Set by SIGTERM, SIGINT or the parent's death; the main thread waits for it.

    The kernel delivers a signal to any thread that does not block it, not always the
    main thread, where Python runs handlers: a main thread asleep on an Event would
    sleep on (a stopped worker, once continued, took its full grace period to stop).
    Python's wakeup fd is written by whichever thread receives the signal, so the main
    thread waits on that instead.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        signal.set_wakeup_fd(self._wake_write, warn_on_full_buffer=False)
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signal_number, lambda *_: self.set())

    def set(self) -> None:
        self._event.set()
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_write, b"\0")

    def wait(self) -> None:
        while not self._event.is_set():
            select.select([self._wake_read], [], [])
            os.read(self._wake_read, 4096)


def _stop_when_parent_dies(parent: parent_pipe.ParentPipe, stop: _StopRequest) -> None:
    # The parent writes nothing to our stdin but its goodbye; when it stops us or dies, however it dies,
    # the pipe reaches end of file.
    def watch() -> None:
        try:
            while parent.read():
                pass
        except OSError:
            pass
        logger.info("parent process is gone, or stops us; stopping")
        stop.set()

    threading.Thread(target=watch, name="snakepit-parent-watch", daemon=True).start()


class UnusableTlsFiles(ValueError):
    """--tls-cert and --tls-key that could not serve TLS: said at start, rather than as grpcio's "Failed to bind"."""


def _refuse_key() -> bytes:
    # load_cert_chain would otherwise ask for the passphrase on the terminal; grpcio cannot use it anyway.
    raise UnusableTlsFiles("--tls-key is encrypted: give the key without a passphrase (grpcio cannot read one)")


def read_tls(args: argparse.Namespace) -> TlsFiles | None:
    cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
    client_ca_path: str | None = getattr(args, "tls_client_ca", None)
    if not cert and not key:
        if client_ca_path:
            raise UnusableTlsFiles("--tls-client-ca needs --tls-cert and --tls-key: clients are checked over TLS")
        return None
    if not cert or not key:
        raise UnusableTlsFiles("--tls-cert and --tls-key go together")
    chain, private_key = Path(cert).read_bytes(), Path(key).read_bytes()
    try:
        ssl.create_default_context().load_verify_locations(cadata=chain.decode("ascii", errors="replace"))
    except (ssl.SSLError, ValueError) as error:
        raise UnusableTlsFiles(f"--tls-cert {cert} is not a PEM certificate chain ({error})") from None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key, password=_refuse_key)
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            raise UnusableTlsFiles(f"--tls-key {key} is not the key of --tls-cert {cert}") from None
        raise UnusableTlsFiles(f"--tls-key {key} is not a PEM private key ({error})") from None
    client_ca = None
    if client_ca_path:
        client_ca = Path(client_ca_path).read_bytes()
        try:
            ssl.create_default_context().load_verify_locations(cadata=client_ca.decode("ascii", errors="replace"))
        except (ssl.SSLError, ValueError) as error:
            # grpcio would start, and refuse every client.
            raise UnusableTlsFiles(f"--tls-client-ca {client_ca_path} holds no PEM certificate ({error})") from None
    return TlsFiles(certificate_chain=chain, private_key=private_key, client_ca=client_ca)


def _stop_own_children() -> None:
    # A pool starts each worker as the leader of its own process group; take whatever the tools started along.
    # Under a supervisor (supervisor.py), the supervisor leads the group, and ends them once the worker is gone.
    if os.getpgid(0) == os.getpid():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.killpg(os.getpid(), signal.SIGTERM)


def _record_stream(record_fd: int | None) -> TextIO:
    """Where records go: the pipe the pool opened for them, or stderr. The pipe stays the worker's own:
    a program a tool runs does not inherit it, so it cannot write records there."""
    if record_fd is None:
        return sys.stderr
    os.set_inheritable(record_fd, False)
    return os.fdopen(record_fd, "w", encoding="utf-8", errors="backslashreplace")


def _configure_logging(level: str, worker_id: str, *, structured: bool, record_fd: int | None = None) -> None:
    """A pool's child writes records as JSON lines, which the pool parses into log events, on a pipe of
    their own (`--record-fd`) so that nothing a tool prints can split or forge one; a standalone worker,
    and a process of `serve --workers N` (`--log-format text`), writes text, with the running call's ids."""
    handler = logging.StreamHandler(_record_stream(record_fd) if structured else sys.stderr)
    handler.set_name(WORKER_HANDLER_NAME)
    if structured:
        handler.setFormatter(RecordFormatter())
    else:
        handler.addFilter(CallFilter())
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)s [{worker_id}]%(snakepit_call)s %(name)s: %(message)s")
        )
    logging.basicConfig(level=level_named(level), handlers=[handler])


def run(args: argparse.Namespace, *, token: str | None = None, watch_parent: bool = True) -> int:
    """Serves until told to stop. A pool's child ("worker") gets its token from its caller, which read
    it from stdin; it watches stdin for its parent's death unless a supervisor does (supervisor.py)."""
    child = args.command == "worker"
    socket_path: str | None = getattr(args, "socket", None)
    # A standalone server reports on its own stdout too, for whatever supervises it (and port 0).
    handshake, parent_fd = _take_stdio() if child else (sys.stdout, -1)
    parent = parent_pipe.ParentPipe(parent_fd)
    level = args.log_level or os.environ.get("SNAKEPIT_LOG_LEVEL") or ("WARNING" if child else "INFO")
    worker_id = args.worker_id or f"{socket.gethostname()}:{os.getpid()}"
    _configure_logging(
        level, worker_id, structured=child and args.log_format == "json", record_fd=getattr(args, "record_fd", None)
    )
    # After stdout is taken, so that a console exporter writes to stderr; before the adapter, as
    # opentelemetry-instrument would, so that instrumentations see every import.
    otel_setup.configure_from_environment()
    stop = _StopRequest()

    try:
        # Before the adapter loads: its imports may start processes, which would inherit the variable.
        if not child:
            token = read_serve_token(args.token_file, args.token_env)
        check_exposure(args.host, token, insecure=getattr(args, "insecure", False))
        # Before the adapter loads, so that files that cannot serve fail at once, not after initialize().
        tls = read_tls(args)
        # Before the adapter loads, so that an adapter that sets its own keeps it.
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        adapter, adapter_name = load_adapter(args.adapter)
        run_lifecycle_hook(adapter, "initialize")
        limits = Limits(max_message_bytes=args.max_message_bytes, max_waiting_calls=waiting_room(args.threads))
        servicer = BridgeServicer(adapter, adapter_name, worker_id, limits)
        health = Health()
        server, port = start_server(
            servicer,
            host=args.host,
            port=getattr(args, "port", 0),
            token=token,
            max_message_bytes=args.max_message_bytes,
            max_workers=args.threads,
            health=health,
            tls=tls,
            socket_path=socket_path,
        )
    except BaseException as error:
        failure = from_exception(error)
        logger.error("cannot start: %s\n%s", failure.message, failure.python_traceback)
        report = {"type": failure.python_type, "message": failure.message, "traceback": failure.python_traceback}
        handshake.write(FAILED_PREFIX + json.dumps(report) + "\n")
        handshake.flush()
        return 3

    # A worker on a Unix socket reports its path instead of a port.
    listening = {"socket": socket_path} if socket_path else {"port": port}
    handshake.write(READY_PREFIX + json.dumps({**listening, "pid": os.getpid(), "worker_id": worker_id}) + "\n")
    handshake.flush()
    # Ready first: the schemas are built while the pool connects and the caller gets going.
    servicer.warm_up()
    if socket_path:
        unix_socket.enlarge_send_buffers_in_background(socket_path)
    if child:
        handshake.close()
        if watch_parent:
            _stop_when_parent_dies(parent, stop)
        else:
            os.close(parent_fd)
    else:
        logger.info("serving %s on %s:%d%s", adapter_name, args.host, port, " with TLS" if tls else "")

    stop.wait()
    health.draining()
    server.stop(grace=1.0).wait()
    servicer.wait_idle(timeout=1.0)
    try:
        run_lifecycle_hook(adapter, "cleanup")
    except Exception:
        logger.exception("the adapter's cleanup() raised")
    if child:
        _stop_own_children()
        if socket_path and watch_parent:
            # Alone, the worker cleans up after itself; under a supervisor, the supervisor does (supervisor.py).
            unix_socket.remove_socket(socket_path, pool_gone=parent.pool_gone)
    otel_setup.flush()
    logging.shutdown()
    # Threads stuck inside a tool must not keep the process alive.
    os._exit(0)
