"""Snakepit's logger set-up, on top of the standard ``logging`` the worker already configures.

``configure_logging()`` reads ``SNAKEPIT_LOG_LEVEL`` (debug, info, warning, error, none) and configures
the root logger on stderr, which the pool forwards (``onLog``). Inside a snakepit-rx worker, which has
configured logging before the adapter is imported, its handler stays, even with ``force=True`` (the pool
reads records through it), and the level changes only when ``SNAKEPIT_LOG_LEVEL`` is set (else the
pool's ``logLevel`` stands). ``get_logger(name)`` gives
Snakepit's ``snakepit.*`` logger names. Every log record carries ``correlation_id``: the running
call's id (or ``telemetry.set_correlation_id``'s value), ``-`` outside a call.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from snakepit_bridge.log_records import WORKER_HANDLER_NAME

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "none": logging.CRITICAL + 1,
}
# The worker's own default, which Snakepit's "error" would silence further.
_DEFAULT_LEVEL = "warning"

_FORMAT = "%(asctime)s - [%(threadName)s] - %(name)s - %(levelname)s - [corr=%(correlation_id)s] %(message)s"

_factory_installed = False


def _install_correlation_ids() -> None:
    global _factory_installed
    if _factory_installed:
        return
    from snakepit_bridge.telemetry import get_correlation_id

    make_record = logging.getLogRecordFactory()

    def record_with_correlation_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if not getattr(record, "correlation_id", None):
            record.correlation_id = get_correlation_id("-")
        return record

    logging.setLogRecordFactory(record_with_correlation_id)
    _factory_installed = True


def _in_worker() -> bool:
    return any(handler.get_name() == WORKER_HANDLER_NAME for handler in logging.getLogger().handlers)


def configure_logging(force: bool = False) -> None:
    """Sets the level from ``SNAKEPIT_LOG_LEVEL``; with ``force``, also replaces the root handlers with
    one on stderr in Snakepit's format, except a snakepit-rx worker's own. ``none`` turns logging off."""
    _install_correlation_ids()
    explicit = os.environ.get("SNAKEPIT_LOG_LEVEL")
    if _in_worker() and explicit is None:
        return
    name = (explicit or _DEFAULT_LEVEL).lower()
    level = _LEVELS.get(name, _LEVELS[_DEFAULT_LEVEL])
    logging.disable(logging.CRITICAL if name == "none" else logging.NOTSET)
    if not _in_worker():
        logging.basicConfig(level=level, format=_FORMAT, stream=sys.stderr, force=force)
    logging.getLogger().setLevel(level)
    for noisy in ("grpc", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def level_named(name: str) -> int:
    """The level a worker's ``--log-level`` or ``SNAKEPIT_LOG_LEVEL`` names, in either case: Snakepit's
    names (``none`` is above every record) or logging's own. Raises ValueError for any other, where
    ``configure_logging``, run by an adapter, falls back to its default."""
    level = _LEVELS.get(name.lower(), logging.getLevelNamesMapping().get(name.upper()))
    if level is None:
        raise ValueError(f"unknown log level {name!r}: use debug, info, warning, error, critical or none")
    return level


def get_logger(name: str) -> logging.Logger:
    """The logger Snakepit names ``name`` by: ``snakepit.<name>``, and ``snakepit.bridge.<x>`` for
    ``snakepit_bridge.<x>``. Its records reach the worker's stderr like any other."""
    _install_correlation_ids()
    if name.startswith("snakepit."):
        return logging.getLogger(name)
    if name.startswith("snakepit_bridge."):
        return logging.getLogger("snakepit.bridge." + name.removeprefix("snakepit_bridge."))
    return logging.getLogger(f"snakepit.{name}")
