"""Where a worker's token comes from, and when serving without one is refused.

A token in the environment stays readable in /proc/<pid>/environ by every process
of the same user for the process's whole life, even once removed from os.environ
(that file shows the environment the process started with). So a pool's child
worker gets its token as the first line of its stdin, a pipe only its parent
holds; a standalone server should read it from a file (--token-file), and takes
it from a variable only as a convenience, removing it at once so that the
adapter and its tools never see it.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from pathlib import Path

logger = logging.getLogger(__name__)


def read_token_line(parent_pipe: int) -> str | None:
    """The first line the parent writes on the worker's stdin; an empty line means no token."""
    line = b""
    while not line.endswith(b"\n"):
        # Byte by byte: nothing after the line is the token's.
        byte = os.read(parent_pipe, 1)
        if not byte:
            break
        line += byte
    return line.decode().strip() or None


DEFAULT_TOKEN_ENV = "SNAKEPIT_TOKEN"
# What gRPC metadata carries as sent: printable ASCII, without spaces at the ends (a client strips them).
_SENDABLE_TOKEN = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")


class UnusableToken(ValueError):
    """A token was asked for (--token-file, --token-env) but none that a client could send was found."""


def read_serve_token(token_file: str | None, token_env: str | None) -> str | None:
    """The token of a standalone server: from its file, else from the variable, which is removed.

    An operator who names a file or a variable means the server to have a token: an empty file or an unset
    variable is refused rather than taken for none, which would serve every tool to anyone on loopback (or,
    with --insecure, beyond). Only the default variable may be absent or empty. Messages never quote a token.
    """
    from_environment = os.environ.pop(token_env or DEFAULT_TOKEN_ENV, None)
    if token_file:
        # A file's final newline is not the token's.
        token = Path(token_file).read_text(encoding="utf-8").strip()
        if not token:
            raise UnusableToken(f"--token-file {token_file} is empty: put the token in it, or leave out --token-file")
        source = f"the token in --token-file {token_file}"
    elif token_env is not None:
        if not from_environment:
            raise UnusableToken(
                f"--token-env {token_env}: the variable is not set, or empty; set it, or leave out --token-env"
            )
        token, source = from_environment, f"the token in ${token_env}"
    else:
        if not from_environment:
            return None
        token, source = from_environment, f"the token in ${DEFAULT_TOKEN_ENV}"
    if not _SENDABLE_TOKEN.fullmatch(token):
        raise UnusableToken(
            f"{source} is not printable ASCII without spaces at its ends: gRPC metadata could not carry it, "
            "and every call would be refused"
        )
    return token


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        # A host name may resolve to any address.
        return False


class ExposedWithoutToken(ValueError):
    """Serving beyond loopback without a token, unless the operator said --insecure."""


def check_exposure(host: str, token: str | None, *, insecure: bool) -> None:
    """Refuses to serve beyond loopback without a token unless insecure; warns whenever there is none."""
    if token is not None:
        return
    if not _is_loopback(host) and not insecure:
        raise ExposedWithoutToken(
            f"refusing to serve on {host} without a token: anyone who can reach it could run the adapter's "
            "tools. Give a token (--token-file PATH, or $SNAKEPIT_TOKEN), or pass --insecure to serve anyway"
        )
    logger.warning("serving without a token: any process that can reach %s may call every tool", host)
