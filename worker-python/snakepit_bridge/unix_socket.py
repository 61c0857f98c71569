"""A pool's local worker listens on a Unix socket in the pool's private directory, not on a TCP port.

The pool makes the directory (mode 0700, named after its own pid) and removes
it on close. A worker removes its own socket file when it ends; when the pool
itself is gone (killed, so that nobody will remove the directory), the last
worker to end removes the directory as well, once nothing else is in it.
"""

from __future__ import annotations

import contextlib
import os

# sun_path holds 108 bytes on Linux, 104 on macOS and the BSDs, the terminating NUL included.
MAX_PATH_BYTES = 103 if os.uname().sysname != "Linux" else 107


def check_path(path: str) -> None:
    """Refuses a socket path that the kernel would cut short or refuse: say so rather than bind elsewhere."""
    if not os.path.isabs(path):
        raise ValueError(f"the worker's socket path must be absolute, got {path!r}")
    if len(os.fsencode(path)) > MAX_PATH_BYTES:
        raise ValueError(
            f"the worker's socket path is {len(os.fsencode(path))} bytes, more than {MAX_PATH_BYTES}: {path!r}"
        )


def restrict(path: str) -> None:
    """Only the user who runs the worker may connect (the pool's directory already allows nobody else in)."""
    os.chmod(path, 0o600)


def remove_socket(path: str, pool_pid: int) -> None:
    """Removes the socket file; and, if the pool that made its directory is gone, the directory once empty."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    if os.getppid() == pool_pid:
        # The pool removes its directory itself; removing it now would fail a replacement worker's bind.
        return
    with contextlib.suppress(OSError):
        # Fails while other workers' sockets are still there: the last one to end removes it.
        os.rmdir(os.path.dirname(path))
