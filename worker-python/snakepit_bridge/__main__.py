"""Command line of a worker.

python -m snakepit_bridge worker --adapter module.Class [--socket PATH]
    A pool's child: reads its token from the first line of stdin, serves on
    the Unix socket PATH (or on 127.0.0.1 at a port the OS chooses), reports
    where on stdout, and exits when its parent does (stdin closes).

python -m snakepit_bridge serve --adapter module.Class --host 0.0.0.0 --port 50051 --token-file PATH [--workers N]
    A standalone worker for a pool on another host (`endpoints`, `discover`).
    Without a token it serves only on loopback, unless --insecure. With
    --workers N, one port serves N calls at once, each in a process of its
    own (dispatcher.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from snakepit_bridge import supervisor
from snakepit_bridge.worker_token import read_token_line


def _positive(kind: type[int] | type[float]) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value

    return parse


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m snakepit_bridge", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def common(command: argparse.ArgumentParser) -> None:
        command.add_argument("--adapter", required=True, help="the adapter class, as module.Class or module:Class")
        command.add_argument("--worker-id", default="", help="the name this worker reports (default: host:pid)")
        command.add_argument("--max-message-bytes", type=int, default=64 * 1024 * 1024)
        command.add_argument(
            "--threads",
            "--max-workers",
            dest="threads",
            type=_positive(int),
            default=16,
            help="threads of each process's gRPC server (--max-workers: its former name, still accepted)",
        )
        command.add_argument(
            "--log-level", default=None, help="Python logging level (default: $SNAKEPIT_LOG_LEVEL or WARNING)"
        )

    worker = commands.add_parser("worker", help="run as a pool's child process")
    common(worker)
    listen = worker.add_mutually_exclusive_group()
    listen.add_argument("--host", default="127.0.0.1", help="serve on this host at a port the OS chooses")
    listen.add_argument(
        "--socket", default=None, help="serve on this Unix socket instead (absolute path, in a directory of the pool's)"
    )
    worker.add_argument(
        "--parent-pid", type=int, default=None, help="the pool's process: the worker stops if it is not its parent"
    )
    worker.add_argument(
        "--log-format",
        choices=("json", "text"),
        default="json",
        help="json: records as JSON lines, which the pool reads (default); text: with the call's ids, as serve "
        "writes them (the processes of serve --workers N)",
    )
    worker.add_argument(
        "--record-fd",
        type=int,
        default=None,
        help="with --log-format json, write the records to this file descriptor, which the pool opened for them "
        "(default: stderr): apart from what tools print, records stay whole, and no printed text is taken for one",
    )

    serve = commands.add_parser("serve", help="run standalone, for pools on other hosts")
    common(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=50051)
    serve.add_argument(
        "--token-env",
        default=None,
        help="environment variable holding the token (default SNAKEPIT_TOKEN; named, it must be set); removed at "
        "start, but /proc/<pid>/environ keeps it: prefer --token-file",
    )
    serve.add_argument("--token-file", default=None, help="file holding the token (overrides --token-env)")
    serve.add_argument(
        "--insecure", action="store_true", help="serve beyond loopback without a token (anyone reaching it may call)"
    )
    serve.add_argument("--tls-cert", default=None, help="PEM certificate chain; serves TLS with --tls-key")
    serve.add_argument("--tls-key", default=None, help="PEM private key")
    serve.add_argument(
        "--tls-client-ca",
        default=None,
        help="PEM CA certificates; with it, clients must present a certificate one of them signed (mutual TLS)",
    )
    serve.add_argument(
        "--workers",
        type=_positive(int),
        default=1,
        help="processes serving calls: up to this many calls at once, each in a process of its own, all from one "
        "port (default 1: this process serves, one call at a time)",
    )
    serve.add_argument(
        "--worker-timeout",
        type=_positive(float),
        default=10.0,
        help="with --workers above 1: seconds a process may take to answer its health ping (sent every half of "
        "it) before it is killed and replaced, failing its call with worker_crashed",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_arguments(argv)
    if args.command == "serve" and args.workers > 1:
        from snakepit_bridge.dispatcher_main import run as run_dispatcher

        return run_dispatcher(args)
    if args.command != "worker":
        from snakepit_bridge.worker_main import run

        return run(args)
    # In whichever process reads stdin first: the supervisor (which forks the worker) or the worker alone.
    token = read_token_line(0)
    supervised = supervisor.start(args.parent_pid, socket_path=args.socket)
    # Imported only now, in the worker: the supervisor stays small.
    from snakepit_bridge.worker_main import run

    return run(args, token=token, watch_parent=not supervised)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
