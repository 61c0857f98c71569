"""Failures of a call, as they travel to the client: a snakepit code plus Python's own account."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.truncation import cut_end, cut_middle

M = TypeVar("M", bound=Message)

ERROR_METADATA_KEY = "snakepit-error-bin"

# What each part of a status may take in the trailers, in UTF-8 bytes (the same in
# lib/contract/status-for-error.ts): about 8 KiB in all, under every client's limit.
MESSAGE_BYTES = 2048
TRACEBACK_BYTES = 4096
HINT_BYTES = 1024
NAME_BYTES = 256
STATUS_DETAILS_BYTES = 1024

# The gRPC status each code a worker raises ends its call with. The codes are those lib/errors.ts marks
# `shared` in its ERROR_CODES table, with the same statuses, so that a client sees the same status from
# a worker and from a bridge server; spec/shared-tables.spec.ts fails when the two tables disagree.
_STATUS_BY_CODE = {
    "tool_not_found": grpc.StatusCode.NOT_FOUND,
    "not_streaming": grpc.StatusCode.UNIMPLEMENTED,
    "not_unary": grpc.StatusCode.FAILED_PRECONDITION,
    "invalid_arguments": grpc.StatusCode.INVALID_ARGUMENT,
    "python_error": grpc.StatusCode.UNKNOWN,
    "serialization_error": grpc.StatusCode.INTERNAL,
    "chunk_too_large": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "pool_saturated": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "cancelled": grpc.StatusCode.CANCELLED,
    "unauthenticated": grpc.StatusCode.UNAUTHENTICATED,
    # From the dispatcher of `serve --workers N`: a worker process died or hung during the call, or none runs.
    "worker_crashed": grpc.StatusCode.ABORTED,
    "worker_unavailable": grpc.StatusCode.UNAVAILABLE,
}


@dataclass(eq=False)
class CallFailure(Exception):
    """Why a call failed; raised inside the worker, sent to the client as a gRPC status."""

    code: str
    message: str
    python_type: str = ""
    python_traceback: str = ""
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def detail(self, worker_id: str) -> pb.ErrorDetail:
        """The failure as the trailers carry it: each part cut to its size, and marked where cut."""
        return pb.ErrorDetail(
            code=cut_end(self.code, NAME_BYTES),
            message=cut_end(self.message, MESSAGE_BYTES),
            python_type=cut_end(self.python_type, NAME_BYTES),
            python_traceback=cut_middle(self.python_traceback, TRACEBACK_BYTES),
            hint=cut_end(self.hint, HINT_BYTES),
            worker_id=cut_end(worker_id, NAME_BYTES),
        )

    @property
    def status(self) -> grpc.StatusCode:
        return _STATUS_BY_CODE.get(self.code, grpc.StatusCode.UNKNOWN)


def qualified_type_name(error: BaseException) -> str:
    kind = type(error)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


_LEAVING_HINT = "a tool cannot end its worker: raise an exception to fail the call; the worker serves on"


def _message(error: BaseException) -> str:
    # str(SystemExit(0)) is "0", which reads as a message; say what the tool did instead.
    if isinstance(error, SystemExit):
        return f"the tool called sys.exit({'' if error.code is None else repr(error.code)})"
    if isinstance(error, KeyboardInterrupt) and not str(error):
        return "the tool raised KeyboardInterrupt"
    return str(error) or qualified_type_name(error)


def from_exception(error: BaseException, code: str = "python_error", hint: str = "") -> CallFailure:
    """The failure for an exception raised by a tool, keeping its type, message and traceback."""
    if isinstance(error, CallFailure):
        return error
    leaving = isinstance(error, (SystemExit, KeyboardInterrupt))
    return CallFailure(
        code=code,
        message=_message(error),
        python_type=qualified_type_name(error),
        python_traceback="".join(traceback.format_exception(error)),
        hint=hint or (_LEAVING_HINT if leaving else ""),
    )


def parse_request(message_type: type[M], data: bytes) -> M:
    """A request read as ``message_type``. One that does not parse raises a CallFailure: the client's mistake,
    with the status and words of the bridge server's refusal (lib/bridge-server/bridge-service.ts), not grpcio's
    own answer, INTERNAL or UNKNOWN without an ErrorDetail, which a pool takes for a broken connection."""
    try:
        return message_type.FromString(data)
    except DecodeError:
        raise CallFailure(
            code="invalid_arguments",
            message=f"the request is not a valid {message_type.DESCRIPTOR.name} message",
            hint="encode the request with stubs generated from proto/bridge.proto",
        ) from None


def abort(context: grpc.ServicerContext, failure: CallFailure, worker_id: str) -> NoReturn:
    """Ends the call with the failure's status and detail; raises, as context.abort does."""
    context.set_trailing_metadata(((ERROR_METADATA_KEY, failure.detail(worker_id).SerializeToString()),))
    context.abort(failure.status, cut_end(failure.message, STATUS_DETAILS_BYTES))
