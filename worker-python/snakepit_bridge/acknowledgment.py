"""A call's acknowledgment: the response headers that tell the pool its call arrived, on the wire before the tool runs.

A pool retries on another worker a call whose worker died without acknowledging it, knowing that its tool
never ran. So the acknowledgment must have left the process before the tool can end it: grpcio's
``send_initial_metadata`` only queues the headers, and a tool that ends its worker at once (``os._exit``, a
crash in C) could kill the process before grpc's own thread wrote them; the pool then ran the tool a second
time on another worker. grpcio offers no way to wait for the send, so this waits for the batch's completion
in the server context's state (grpc/_server.py: ``_Context._state.due`` holds the token until grpc core
reports the headers written), and says so loudly if grpcio's shape changes.
"""

from __future__ import annotations

import logging
import time

import grpc
from grpc import _server as grpc_server

logger = logging.getLogger(__name__)

# Longer than any send of a few bytes takes; a cancelled call's batch completes at once too.
_SEND_TIMEOUT_SECONDS = 1.0
# The send usually completes within a tenth of a millisecond: spun for, then napped for, so that a send
# that takes long does not cost a core.
_SPIN_SECONDS = 0.002
_NAP_SECONDS = 0.001

_TOKEN: object = getattr(grpc_server, "_SEND_INITIAL_METADATA_TOKEN", None)
if _TOKEN is None:
    raise ImportError(
        "grpcio's server no longer has _SEND_INITIAL_METADATA_TOKEN: "
        "snakepit_bridge.acknowledgment must learn how this grpcio version reports sent headers"
    )


class Acknowledgment:
    """The call's response headers, sent at once; ``wait_sent`` returns once grpc has written them.

    Sent as the call arrives and waited for just before its tool runs, so that the call's preparation
    (arguments checked, span started) overlaps the send."""

    def __init__(self, context: grpc.ServicerContext) -> None:
        self._due: set[object] | None = None
        try:
            context.send_initial_metadata(())
        except grpc.RpcError:
            # The call is cancelled already: nobody to tell, and the tool sees the cancel.
            logger.debug("call cancelled before it was acknowledged")
            return
        self._due = _due_tokens(context)

    def wait_sent(self) -> None:
        due = self._due
        if due is None or _TOKEN not in due:
            return
        started = time.monotonic()
        # The completion callback removes the token under the state's lock, without notifying: polled.
        while _TOKEN in due:
            waited = time.monotonic() - started
            if waited > _SEND_TIMEOUT_SECONDS:
                logger.warning(
                    "the call's acknowledgment was not sent within %.1f s; running its tool anyway",
                    _SEND_TIMEOUT_SECONDS,
                )
                return
            # sleep(0) lets grpc's completion-queue thread take the GIL and report the send.
            time.sleep(0 if waited < _SPIN_SECONDS else _NAP_SECONDS)


def _due_tokens(context: grpc.ServicerContext) -> set[object]:
    state = getattr(context, "_state", None)
    due = getattr(state, "due", None)
    if not isinstance(due, set):
        raise RuntimeError(
            f"grpcio's server context ({type(context).__name__}) has no _state.due set: "
            "snakepit_bridge.acknowledgment cannot tell when a call's headers were sent"
        )
    return due
