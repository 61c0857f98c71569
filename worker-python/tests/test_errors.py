"""CallFailure: a snakepit code plus Python's own account of a failure, as it travels to the client."""

from __future__ import annotations

import grpc
import pytest
from sample_adapters import TrainingDiverged
from snakepit_bridge.errors import CallFailure, from_exception, qualified_type_name
from snakepit_bridge.proto import bridge_pb2 as pb


class Outer:
    class NestedError(Exception):
        pass


def raised(error: BaseException) -> BaseException:
    """The exception as a tool would raise it, with a traceback."""
    try:
        raise error
    except BaseException as caught:
        return caught


def test_detail_carries_every_field_and_the_worker_id() -> None:
    failure = CallFailure(
        code="python_error", message="boom", python_type="ValueError", python_traceback="Traceback...", hint="fix it"
    )

    detail = failure.detail("worker-3")

    assert detail == pb.ErrorDetail(
        code="python_error",
        message="boom",
        python_type="ValueError",
        python_traceback="Traceback...",
        hint="fix it",
        worker_id="worker-3",
    )
    assert pb.ErrorDetail.FromString(detail.SerializeToString()) == detail


def test_detail_cuts_each_part_to_fit_the_trailers() -> None:
    huge = "é" * (1024 * 1024)
    failure = CallFailure(code="python_error", message=huge, python_type=huge, python_traceback=huge, hint=huge)

    detail = failure.detail(huge)

    sizes = {
        field: len(getattr(detail, field).encode())
        for field in ("message", "python_type", "python_traceback", "hint", "worker_id")
    }
    assert sizes["message"] <= 2048 and sizes["python_traceback"] <= 4096 and sizes["hint"] <= 1024
    assert sizes["python_type"] <= 256 and sizes["worker_id"] <= 256
    assert len(detail.SerializeToString()) < 8 * 1024
    assert "[cut: " in detail.message and "[cut: " in detail.python_traceback


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("tool_not_found", grpc.StatusCode.NOT_FOUND),
        ("not_streaming", grpc.StatusCode.UNIMPLEMENTED),
        ("not_unary", grpc.StatusCode.FAILED_PRECONDITION),
        ("invalid_arguments", grpc.StatusCode.INVALID_ARGUMENT),
        ("python_error", grpc.StatusCode.UNKNOWN),
        ("serialization_error", grpc.StatusCode.INTERNAL),
        ("chunk_too_large", grpc.StatusCode.RESOURCE_EXHAUSTED),
        ("cancelled", grpc.StatusCode.CANCELLED),
        ("unauthenticated", grpc.StatusCode.UNAUTHENTICATED),
        ("something_new", grpc.StatusCode.UNKNOWN),
    ],
)
def test_each_code_maps_to_its_grpc_status(code: str, status: grpc.StatusCode) -> None:
    assert CallFailure(code=code, message="m").status == status


def test_call_failure_is_an_exception_with_a_readable_str() -> None:
    with pytest.raises(CallFailure) as caught:
        raise CallFailure(code="invalid_arguments", message="add(): missing a required argument: 'a'")

    assert str(caught.value) == "invalid_arguments: add(): missing a required argument: 'a'"


def test_builtin_exceptions_are_named_without_module() -> None:
    failure = from_exception(raised(ValueError("bad value")))

    assert failure.code == "python_error"
    assert failure.python_type == "ValueError"
    assert failure.message == "bad value"


def test_custom_exceptions_are_named_with_their_module() -> None:
    failure = from_exception(raised(TrainingDiverged("loss is nan")))

    assert failure.python_type == "sample_adapters.TrainingDiverged"
    assert failure.message == "loss is nan"


def test_nested_exception_classes_use_their_qualified_name() -> None:
    assert qualified_type_name(Outer.NestedError()) == f"{__name__}.Outer.NestedError"


def test_traceback_is_python_s_own_formatting() -> None:
    failure = from_exception(raised(KeyError("epochs")))

    assert failure.python_traceback.startswith("Traceback (most recent call last):")
    assert "in raised" in failure.python_traceback
    assert failure.python_traceback.rstrip().endswith("KeyError: 'epochs'")


def test_chained_exceptions_keep_their_cause_in_the_traceback() -> None:
    try:
        try:
            raise OSError("disk full")
        except OSError as cause:
            raise RuntimeError("could not save checkpoint") from cause
    except RuntimeError as error:
        failure = from_exception(error)

    assert "OSError: disk full" in failure.python_traceback
    assert "direct cause" in failure.python_traceback
    assert failure.python_type == "RuntimeError"


def test_empty_message_falls_back_to_the_type_name() -> None:
    assert from_exception(raised(TrainingDiverged())).message == "sample_adapters.TrainingDiverged"
    assert from_exception(raised(StopIteration())).message == "StopIteration"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (SystemExit(0), "the tool called sys.exit(0)"),
        (SystemExit(), "the tool called sys.exit()"),
        (SystemExit("bye"), "the tool called sys.exit('bye')"),
        (KeyboardInterrupt(), "the tool raised KeyboardInterrupt"),
        (KeyboardInterrupt("stop"), "stop"),
    ],
)
def test_a_tool_ending_its_worker_says_so(error: BaseException, message: str) -> None:
    failure = from_exception(raised(error))

    assert failure.code == "python_error"
    assert failure.python_type == type(error).__name__
    assert failure.message == message
    assert "cannot end its worker" in failure.hint


def test_code_and_hint_can_be_chosen() -> None:
    failure = from_exception(raised(TypeError("x")), code="invalid_arguments", hint="check the parameters")

    assert failure.code == "invalid_arguments"
    assert failure.hint == "check the parameters"


def test_a_call_failure_passes_through_unchanged() -> None:
    original = CallFailure(code="chunk_too_large", message="too big", hint="smaller")

    assert from_exception(original) is original
