"""A pool's local worker listens on a Unix socket in the pool's private directory, not on a TCP port.

The pool makes the directory (mode 0700, named after its own pid), having
first removed those left by pools and dispatchers whose process died, and
removes it on close; so does the dispatcher of `serve --workers N` for its
worker processes (``private_directory``). A worker removes its own socket file when
it ends; when the pool itself is gone (killed, so that nobody will remove the
directory, which parent_pipe.py tells), the last worker to end removes the
directory as well, once nothing else is in it.

A Unix stream socket queues at most its send buffer of unread data (208 KiB
by default on Linux, 8 KiB on macOS), where TCP grows its own to 4 MiB. grpcio
completes a message's send once its last byte is queued and only then takes
the next: with a small buffer the reader empties it while the worker prepares
the next message, and a stream of 1 MiB chunks ran slower than over TCP. So
the worker enlarges the send buffer of every connection to its socket to the
pool's flow-control window (4 MiB; the kernel caps it at net.core.wmem_max).
grpcio offers no hook on the sockets it accepts, so a thread finds them among
the process's open files: every few milliseconds until the pool has
connected, then every second for later connections.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import socket
import stat
import string
import tempfile
import threading
import time
from collections.abc import Iterator

logger = logging.getLogger(__name__)

SEND_BUFFER_BYTES = 4 * 1024 * 1024
# Where the process's open files are listed: /dev/fd is /proc/self/fd on Linux, and exists on macOS.
_OPEN_FILES = "/dev/fd"
_FIRST_CONNECTION_POLL_SECONDS = 0.002
_FIRST_CONNECTION_WAIT_SECONDS = 30.0
_LATER_CONNECTIONS_POLL_SECONDS = 1.0

# sun_path holds 108 bytes on Linux, 104 on macOS and the BSDs, the terminating NUL included.
MAX_PATH_BYTES = 103 if os.uname().sysname != "Linux" else 107
# The longest name a process gives its socket in a private directory (child_worker.py), the slash included.
_SOCKET_NAME_BYTES = 32
_NAME_CHARACTERS = string.ascii_letters + string.digits
# A private directory's name: the pid of the pool or dispatcher that made it, and 6 random letters or digits.
_DIRECTORY_PREFIX = "snakepit-rx-"
_DIRECTORY_NAME = re.compile(rf"{_DIRECTORY_PREFIX}(\d+)-[A-Za-z0-9]{{6}}")


def check_path(path: str) -> None:
    """Refuses a socket path that the kernel would cut short or refuse: say so rather than bind elsewhere."""
    if not os.path.isabs(path):
        raise ValueError(f"the worker's socket path must be absolute, got {path!r}")
    if len(os.fsencode(path)) > MAX_PATH_BYTES:
        raise ValueError(
            f"the worker's socket path is {len(os.fsencode(path))} bytes, more than {MAX_PATH_BYTES}: {path!r}"
        )


@contextlib.contextmanager
def private_directory() -> Iterator[str | None]:
    """A new directory only this user may enter (mode 0700), for the sockets of this process's workers, removed
    with what it holds on exit; None where Unix sockets are not used (Windows).

    Named as a pool's (lib/worker/socket-directory.ts: `snakepit-rx-<pid>-<6 letters or digits>`), so that a
    pool starting on this machine removes it if this process died without removing it."""
    if os.name == "nt" or not hasattr(socket, "AF_UNIX"):
        yield None
        return
    base = tempfile.gettempdir()
    # Room for a socket's name in it; else /tmp, as the pool does.
    prefix = f"{_DIRECTORY_PREFIX}{os.getpid()}-"
    if len(os.fsencode(os.path.join(base, f"{prefix}XXXXXX"))) + _SOCKET_NAME_BYTES > MAX_PATH_BYTES:
        base = "/tmp"
    sweep_stale_directories(base)
    while True:
        suffix = "".join(secrets.choice(_NAME_CHARACTERS) for _ in range(6))
        directory = os.path.join(base, prefix + suffix)
        try:
            os.mkdir(directory, 0o700)
            break
        except FileExistsError:
            continue
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def sweep_stale_directories(base: str) -> list[str]:
    """Removes the directories in ``base`` that a pool or a dispatcher of this user left when its process died,
    as a pool does when it starts (lib/worker/socket-directory.ts): only this user's real directories, named
    after a process that is gone; returns them."""
    swept: list[str] = []
    try:
        entries = os.listdir(base)
    except OSError:
        return swept
    for entry in entries:
        match = _DIRECTORY_NAME.fullmatch(entry)
        if match is None or _is_alive(int(match[1])):
            continue
        path = os.path.join(base, entry)
        try:
            info = os.lstat(path)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                continue
            shutil.rmtree(path)
        except OSError:
            # Gone already (another process swept it), or not ours to remove.
            continue
        swept.append(path)
    return swept


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # It exists, and belongs to someone else.
        return True
    return True


def restrict(path: str) -> None:
    """Only the user who runs the worker may connect (the pool's directory already allows nobody else in)."""
    os.chmod(path, 0o600)


def remove_socket(path: str, *, pool_gone: bool) -> None:
    """Removes the socket file; and, when the pool that made its directory is gone, the directory once empty."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    if not pool_gone:
        # The pool removes its directory itself; removing it now would fail a replacement worker's bind.
        return
    with contextlib.suppress(OSError):
        # Fails while other workers' sockets are still there: the last one to end removes it.
        os.rmdir(os.path.dirname(path))


def enlarge_send_buffers(path: str, done: set[tuple[int, int]]) -> int:
    """Enlarges the send buffer of each connection accepted on the socket ``path`` not in ``done`` (open
    files as (fd, inode)), adding them to it and dropping from it the files no longer open; returns how
    many it enlarged."""
    enlarged = 0
    seen: set[tuple[int, int]] = set()
    for name in os.listdir(_OPEN_FILES):
        fd = int(name)
        try:
            status = os.fstat(fd)
            key = (fd, status.st_ino)
            seen.add(key)
            if key in done or not stat.S_ISSOCK(status.st_mode):
                continue
            with _socket_of(fd) as connection:
                if (
                    connection.family != socket.AF_UNIX
                    or connection.type != socket.SOCK_STREAM
                    or connection.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                    or connection.getsockname() != path
                ):
                    continue
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
            done.add(key)
            enlarged += 1
        except OSError:
            # Not a socket, or closed since it was listed.
            continue
    # Only bounds ``done``: a new connection on a reused descriptor has another inode, so it counts as new anyway.
    done &= seen
    return enlarged


def _socket_of(fd: int) -> socket.socket:
    """A socket object on a duplicate of ``fd``, which the object closes."""
    duplicate = os.dup(fd)
    try:
        return socket.socket(fileno=duplicate)
    except OSError:
        # socket.socket(fileno=...) leaves open a descriptor it refuses (fd reused by a file since fstat).
        os.close(duplicate)
        raise


def enlarge_send_buffers_in_background(path: str) -> None:
    """Runs ``enlarge_send_buffers`` on a daemon thread for the worker's life (see the module's doc)."""

    def watch() -> None:
        done: set[tuple[int, int]] = set()
        deadline = time.monotonic() + _FIRST_CONNECTION_WAIT_SECONDS
        while not enlarge_send_buffers(path, done) and time.monotonic() < deadline:
            time.sleep(_FIRST_CONNECTION_POLL_SECONDS)
        while True:
            time.sleep(_LATER_CONNECTIONS_POLL_SECONDS)
            enlarge_send_buffers(path, done)

    threading.Thread(target=watch, name="snakepit-socket-buffers", daemon=True).start()
