"""One asyncio loop per worker, in its own thread, for async tools.

A single long-lived loop lets async tools keep loop-bound resources (clients,
sessions) between calls, which a loop per call would break.
"""

from __future__ import annotations

import asyncio
import threading

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def worker_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="snakepit-asyncio", daemon=True).start()
            _loop = loop
        return _loop
