"""Runs `serve --workers N`: N worker processes behind one port, each serving one call at a time.

The process that owns the port loads no adapter and runs no tool: it checks the token, answers health,
reflection and Ping (with the endpoint's capacity, N; health NOT_SERVING and Ping UNAVAILABLE while no worker
process runs), and relays every call to a free worker process
(dispatcher_service.py), which it starts, watches and replaces (worker_processes.py). Each worker process is
a pool's child worker as `python -m snakepit_bridge worker` runs it, on a Unix socket in a directory of the
dispatcher's (mode 0700, removed when it stops), with a token of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from snakepit_bridge import unix_socket
from snakepit_bridge.call_admission import waiting_room
from snakepit_bridge.child_worker import ChildOptions, ChildStartFailed, ChildWorker
from snakepit_bridge.dispatcher import Dispatcher
from snakepit_bridge.dispatcher_service import DispatcherService
from snakepit_bridge.errors import from_exception
from snakepit_bridge.grpc_services import add_async_standard_services, set_async_health
from snakepit_bridge.logging_config import level_named
from snakepit_bridge.server import UNAUTHENTICATED_TRAILERS, may_pass
from snakepit_bridge.worker_main import FAILED_PREFIX, READY_PREFIX, read_tls
from snakepit_bridge.worker_processes import WorkerProcesses
from snakepit_bridge.worker_token import check_exposure, read_serve_token

logger = logging.getLogger("snakepit_bridge")

# How long a worker process may take to report ready (importing the adapter, its initialize()).
START_TIMEOUT_SECONDS = 60.0
# How long running calls get to finish once the endpoint is asked to stop, as a single-process `serve` gives them.
STOP_GRACE_SECONDS = 1.0


class AsyncTokenInterceptor(grpc.aio.ServerInterceptor):
    """server.TokenInterceptor for the asyncio server: every call but health checks needs the token."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()
        # As server.TokenInterceptor's: answered without reading the request.
        self._refusal: grpc.RpcMethodHandler[Any, Any] = grpc.stream_stream_rpc_method_handler(self._refuse)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if may_pass(handler_call_details, self._expected):
            return await continuation(handler_call_details)
        return self._refusal

    @staticmethod
    async def _refuse(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext[bytes, bytes]) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong token", UNAUTHENTICATED_TRAILERS)


def run(args: argparse.Namespace) -> int:
    worker_id = args.worker_id or f"{socket.gethostname()}:{os.getpid()}"
    level = (args.log_level or os.environ.get("SNAKEPIT_LOG_LEVEL") or "INFO").upper()
    logging.basicConfig(
        level=level_named(level),
        stream=sys.stderr,
        format=f"%(asctime)s %(levelname)s [{worker_id}] %(name)s: %(message)s",
    )
    try:
        return asyncio.run(_serve(args, worker_id, level))
    except BaseException as error:
        report = error.report if isinstance(error, ChildStartFailed) and error.report else None
        if report is None:
            failure = from_exception(error)
            report = {"type": failure.python_type, "message": failure.message, "traceback": failure.python_traceback}
        logger.error("cannot start: %s\n%s", report["message"], report.get("traceback", ""))
        sys.stdout.write(FAILED_PREFIX + json.dumps(report) + "\n")
        sys.stdout.flush()
        return 3


async def _serve(args: argparse.Namespace, worker_id: str, level: str) -> int:
    with unix_socket.private_directory() as socket_dir:
        return await _serve_in(socket_dir, args, worker_id, level)


async def _serve_in(socket_dir: str | None, args: argparse.Namespace, worker_id: str, level: str) -> int:
    # Before the worker processes start: they would inherit the variable.
    token = read_serve_token(args.token_file, args.token_env)
    check_exposure(args.host, token, insecure=args.insecure)
    tls = read_tls(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)

    # As many calls wait as N single-process endpoints of these --threads would keep waiting.
    dispatcher: Dispatcher[ChildWorker] = Dispatcher(max_waiting=args.workers * waiting_room(args.threads))
    options = ChildOptions(
        adapter=args.adapter,
        token=secrets.token_urlsafe(24),
        max_message_bytes=args.max_message_bytes,
        threads=args.threads,
        log_level=level,
        start_timeout=START_TIMEOUT_SECONDS,
        socket_dir=socket_dir,
    )
    processes = WorkerProcesses(args.workers, worker_id, options, dispatcher, args.worker_timeout)
    await processes.start()
    try:
        server = grpc.aio.server(
            interceptors=[AsyncTokenInterceptor(token)] if token else [],
            options=[
                ("grpc.max_send_message_length", args.max_message_bytes),
                ("grpc.max_receive_message_length", args.max_message_bytes),
                ("grpc.so_reuseport", 0),
            ],
        )
        server.add_generic_rpc_handlers((DispatcherService(dispatcher, processes, worker_id).handler(),))
        health_servicer = await add_async_standard_services(server)
        address = f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}"
        if tls is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, tls.server_credentials())
        if port == 0:
            raise OSError(f"cannot listen on {address}")
        await server.start()
        reporting = asyncio.create_task(_report_health(processes, health_servicer))
    except BaseException:
        await processes.stop()
        raise
    ready = {"port": port, "pid": os.getpid(), "worker_id": worker_id, "workers": args.workers}
    sys.stdout.write(READY_PREFIX + json.dumps(ready) + "\n")
    sys.stdout.flush()
    logger.info(
        "serving %s on %s:%d with %d worker processes%s",
        args.adapter,
        args.host,
        port,
        args.workers,
        " and TLS" if tls else "",
    )

    await stop.wait()
    await health_servicer.enter_graceful_shutdown()
    reporting.cancel()
    await server.stop(STOP_GRACE_SECONDS)
    await processes.stop()
    logging.shutdown()
    return 0


async def _report_health(processes: WorkerProcesses, servicer: Any) -> None:
    """Health follows the worker processes: NOT_SERVING while none runs (probes and load balancers then send
    calls elsewhere), SERVING while one does. Once the endpoint stops, the servicer ignores both."""
    async for available in processes.availability():
        await set_async_health(servicer, serving=available)
