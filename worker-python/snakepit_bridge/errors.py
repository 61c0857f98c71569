"""Failures of a call, as they travel to the client: a snakepit code plus Python's own account."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import NoReturn

import grpc

from snakepit_bridge.proto import bridge_pb2 as pb

ERROR_METADATA_KEY = "snakepit-error-bin"

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
    "cancelled": grpc.StatusCode.CANCELLED,
    "unauthenticated": grpc.StatusCode.UNAUTHENTICATED,
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
        return pb.ErrorDetail(
            code=self.code,
            message=self.message,
            python_type=self.python_type,
            python_traceback=self.python_traceback,
            hint=self.hint,
            worker_id=worker_id,
        )

    @property
    def status(self) -> grpc.StatusCode:
        return _STATUS_BY_CODE.get(self.code, grpc.StatusCode.UNKNOWN)


def qualified_type_name(error: BaseException) -> str:
    kind = type(error)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def from_exception(error: BaseException, code: str = "python_error", hint: str = "") -> CallFailure:
    """The failure for an exception raised by a tool, keeping its type, message and traceback."""
    if isinstance(error, CallFailure):
        return error
    return CallFailure(
        code=code,
        message=str(error) or qualified_type_name(error),
        python_type=qualified_type_name(error),
        python_traceback="".join(traceback.format_exception(error)),
        hint=hint,
    )


def abort(context: grpc.ServicerContext, failure: CallFailure, worker_id: str) -> NoReturn:
    """Ends the call with the failure's status and detail; raises, as context.abort does."""
    context.set_trailing_metadata(((ERROR_METADATA_KEY, failure.detail(worker_id).SerializeToString()),))
    context.abort(failure.status, failure.message)
