"""Runs a worker: loads the adapter, serves it, reports readiness, and stops when told to or orphaned."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import TextIO

from snakepit_bridge import otel_setup
from snakepit_bridge.adapter_loader import load_adapter
from snakepit_bridge.errors import from_exception
from snakepit_bridge.log_records import CallFilter, RecordFormatter
from snakepit_bridge.server import TlsFiles, start_server
from snakepit_bridge.servicer import BridgeServicer, Limits

READY_PREFIX = "SNAKEPIT_READY "
FAILED_PREFIX = "SNAKEPIT_FAILED "

logger = logging.getLogger("snakepit_bridge")


def _take_stdio() -> tuple[TextIO, int]:
    """Keeps the parent's stdout for the handshake and its stdin for the orphan check.

    Everything else a tool prints goes to stderr, and a tool that reads stdin
    sees end of file: neither can disturb the protocol with the parent.
    """
    handshake = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    parent_pipe = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return handshake, parent_pipe


def _stop_when_parent_dies(parent_pipe: int, stop: threading.Event) -> None:
    # The parent never writes to our stdin; when it dies, however it dies, the pipe reaches end of file.
    def watch() -> None:
        try:
            while os.read(parent_pipe, 4096):
                pass
        except OSError:
            pass
        logger.info("parent process is gone; stopping")
        stop.set()

    threading.Thread(target=watch, name="snakepit-parent-watch", daemon=True).start()


def _read_token(args: argparse.Namespace) -> str | None:
    if getattr(args, "token_file", None):
        return Path(args.token_file).read_text(encoding="utf-8").strip() or None
    env = getattr(args, "token_env", "SNAKEPIT_TOKEN")
    # Tools and their subprocesses have no business with the token.
    return os.environ.pop(env, None) or None


def _read_tls(args: argparse.Namespace) -> TlsFiles | None:
    cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
    if not cert and not key:
        return None
    if not cert or not key:
        raise ValueError("--tls-cert and --tls-key go together")
    return TlsFiles(certificate_chain=Path(cert).read_bytes(), private_key=Path(key).read_bytes())


def _stop_own_children() -> None:
    # A pool starts each worker as the leader of its own process group; take whatever the tools started along.
    if os.getpgid(0) == os.getpid():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.killpg(os.getpid(), signal.SIGTERM)


def _configure_logging(level: str, worker_id: str, *, structured: bool) -> None:
    """A pool's child writes records as JSON lines, which the pool parses into log events; a
    standalone worker writes text, with the running call's ids."""
    handler = logging.StreamHandler(sys.stderr)
    if structured:
        handler.setFormatter(RecordFormatter())
    else:
        handler.addFilter(CallFilter())
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)s [{worker_id}]%(snakepit_call)s %(name)s: %(message)s")
        )
    logging.basicConfig(level=level.upper(), handlers=[handler])


def run(args: argparse.Namespace) -> int:
    child = args.command == "worker"
    # A standalone server reports on its own stdout too, for whatever supervises it (and port 0).
    handshake, parent_pipe = _take_stdio() if child else (sys.stdout, -1)
    level = args.log_level or os.environ.get("SNAKEPIT_LOG_LEVEL") or ("WARNING" if child else "INFO")
    worker_id = args.worker_id or f"{socket.gethostname()}:{os.getpid()}"
    _configure_logging(level, worker_id, structured=child)
    # After stdout is taken, so that a console exporter writes to stderr; before the adapter, as
    # opentelemetry-instrument would, so that instrumentations see every import.
    otel_setup.configure_from_environment()
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())

    try:
        adapter, adapter_name = load_adapter(args.adapter)
        token = _read_token(args)
        tls = _read_tls(args)
        servicer = BridgeServicer(adapter, adapter_name, worker_id, Limits(max_message_bytes=args.max_message_bytes))
        server, port = start_server(
            servicer,
            host=args.host,
            port=getattr(args, "port", 0),
            token=token,
            max_message_bytes=args.max_message_bytes,
            max_workers=args.max_workers,
            tls=tls,
        )
    except BaseException as error:
        failure = from_exception(error)
        logger.error("cannot start: %s\n%s", failure.message, failure.python_traceback)
        report = {"type": failure.python_type, "message": failure.message, "traceback": failure.python_traceback}
        handshake.write(FAILED_PREFIX + json.dumps(report) + "\n")
        handshake.flush()
        return 3

    handshake.write(READY_PREFIX + json.dumps({"port": port, "pid": os.getpid(), "worker_id": worker_id}) + "\n")
    handshake.flush()
    if child:
        handshake.close()
        _stop_when_parent_dies(parent_pipe, stop)
    else:
        logger.info("serving %s on %s:%d%s", adapter_name, args.host, port, " with TLS" if tls else "")

    stop.wait()
    server.stop(grace=1.0).wait()
    servicer.wait_idle(timeout=1.0)
    if child:
        _stop_own_children()
    otel_setup.flush()
    logging.shutdown()
    # Threads stuck inside a tool must not keep the process alive.
    os._exit(0)
