"""The worker's stdin after its token line: how a worker (or its supervisor) learns that its pool is gone.

A pool that stops a worker writes STOP_LINE on its stdin before closing it, so
that a stdin that ends without it tells that the pool's process is gone (and
a Unix socket's directory has nobody left to remove it): its parentage cannot
tell soon enough, as a killed process closes its files (the workers' stdin)
well before its children are handed to another parent.
"""

from __future__ import annotations

import os
import select

# What a pool writes on a worker's stdin before closing it to stop the worker (lib/worker/worker-process.ts).
STOP_LINE = b"stop\n"


class ParentPipe:
    """The worker's stdin after the token line, read to its end: whether the pool said goodbye first."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._tail = b""
        self._said_goodbye = False
        self._ended = False

    def read(self) -> bool:
        """Reads what is there; False once the pipe has ended."""
        data = os.read(self.fd, 4096)
        if not data:
            self._ended = True
            return False
        # The goodbye may come split across two reads.
        window = self._tail + data
        self._said_goodbye = self._said_goodbye or STOP_LINE in window
        self._tail = window[-(len(STOP_LINE) - 1) :]
        return True

    def read_ready(self) -> None:
        """Reads whatever is there already, its end included, without waiting for more."""
        while not self._ended and select.select([self.fd], [], [], 0)[0]:
            self.read()

    @property
    def pool_gone(self) -> bool:
        """True when the pipe ended without the pool's goodbye: the pool's process died."""
        return self._ended and not self._said_goodbye
