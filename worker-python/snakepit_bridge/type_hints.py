"""A tool's annotations as types: resolved, reduced to what a call carries, and made readable by pydantic.

Nothing here imports pydantic.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import logging
import operator
import sys
import threading
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import typing_extensions

from snakepit_bridge.stream_chunk import StreamChunk

logger = logging.getLogger(__name__)

# A streaming tool's return annotation names the items of one of these.
_ITERABLES: tuple[type, ...] = (collections.abc.Iterable, collections.abc.AsyncIterable)
# Iterable, but not a stream of items.
_NOT_STREAMS: tuple[type, ...] = (str, bytes, bytearray, collections.abc.Mapping)


@dataclass(frozen=True)
class ToolHints:
    """The types a tool's annotations state, ``Any`` where they state none."""

    # Keyword parameters by name, in signature order.
    parameters: dict[str, object]
    # Which of them have no default.
    required: frozenset[str]
    # The value type of ``**kwargs``; None when the tool takes no other keywords.
    extra: object | None
    # What a unary tool returns; what each chunk of a streaming tool carries.
    result: object

    def untyped(self) -> ToolHints:
        """The same parameters, each taking any value, and any result."""
        return ToolHints(
            parameters=dict.fromkeys(self.parameters, Any),
            required=self.required,
            extra=None if self.extra is None else Any,
            result=Any,
        )


def tool_hints(name: str, function: Callable[..., object], signature: inspect.Signature, streaming: bool) -> ToolHints:
    """Resolves the tool's annotations, postponed ones included.

    ``signature`` is the bound method's (no ``self``). An annotation that
    cannot be resolved is logged and means any value.
    """
    resolved = _resolve(name, function, signature)
    parameters: dict[str, object] = {}
    required: set[str] = set()
    extra: object | None = None
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        hint = resolved.get(parameter.name, Any)
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            extra = hint
            continue
        if parameter.default is None and hint is not Any:
            # `limit: int = None`, as Snakepit adapters are often written: None, its default, is a value it takes.
            hint = typing.Optional[hint]  # noqa: UP045  # a value made at run time, where `|` needs types
        parameters[parameter.name] = hint
        if parameter.default is inspect.Parameter.empty:
            required.add(parameter.name)
    result = resolved.get("return", Any)
    if streaming:
        result = _item_type(name, result)
    return ToolHints(parameters=parameters, required=frozenset(required), extra=extra, result=_chunk_data(result))


def _resolve(name: str, function: Callable[..., object], signature: inspect.Signature) -> dict[str, object]:
    target = getattr(function, "__func__", function)
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # user annotations may fail in any way: resolve them one by one
        pass
    # One annotation that cannot be resolved (a name imported only under TYPE_CHECKING) must not cost the others.
    namespace = getattr(target, "__globals__", {})
    annotations: dict[str, object] = {p.name: p.annotation for p in signature.parameters.values()}
    annotations["return"] = signature.return_annotation
    resolved: dict[str, object] = {}
    for key, annotation in annotations.items():
        if annotation is inspect.Parameter.empty:
            continue
        try:
            holder = types.SimpleNamespace(__annotations__={key: annotation})
            resolved[key] = typing.get_type_hints(holder, globalns=namespace, include_extras=True)[key]
        except Exception as error:  # user annotations may fail in any way
            what = "its result" if key == "return" else f"parameter {key!r}"
            logger.warning(
                "tool %s: cannot resolve the annotation of %s (%s); it is any value", name, what, first_line(error)
            )
    return resolved


def _item_type(name: str, annotation: object) -> object:
    """What each chunk of a streaming tool carries: T of Iterator[T], Generator[T, ...], AsyncIterator[T], ..."""
    if annotation is Any:
        return Any
    origin = typing.get_origin(annotation) or annotation
    if isinstance(origin, type) and issubclass(origin, _ITERABLES) and not issubclass(origin, _NOT_STREAMS):
        arguments = typing.get_args(annotation)
        return arguments[0] if arguments else Any
    logger.warning(
        "tool %s streams, but its return annotation %s names no item type (Iterator[T], AsyncIterator[T], ...); "
        "its chunks are any value",
        name,
        annotation,
    )
    return Any


def _chunk_data(annotation: object) -> object:
    """A StreamChunk[T] carries T; a bare StreamChunk, anything."""

    def data_of(member: object) -> object:
        if member is StreamChunk:
            return Any
        if typing.get_origin(member) is StreamChunk:
            return typing.get_args(member)[0]
        return member

    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.Union[tuple(data_of(member) for member in typing.get_args(annotation))]  # noqa: UP007
    return data_of(annotation)


def rewrite(annotation: object, replace: Callable[[object], object | None]) -> object:
    """The annotation with each part for which ``replace`` returns something replaced by it.

    Descends into unions, ``Annotated`` and the arguments of generics
    (``list[X]``, ``dict[str, X]``, ``Iterator[X]``...), not into classes.
    """
    replaced = replace(annotation)
    if replaced is not None:
        return replaced
    origin = typing.get_origin(annotation)
    if origin is None or origin is typing.Literal:
        return annotation
    if origin is typing.Annotated:
        inner = typing.get_args(annotation)[0]
        metadata: tuple[object, ...] = getattr(annotation, "__metadata__", ())
        new_inner = rewrite(inner, replace)
        return annotation if new_inner is inner else typing.Annotated[(new_inner, *metadata)]
    arguments = typing.get_args(annotation)
    rewritten = tuple(rewrite(argument, replace) for argument in arguments)
    if all(new is old for new, old in zip(rewritten, arguments, strict=True)):
        return annotation
    if isinstance(annotation, types.UnionType):
        return functools.reduce(operator.or_, rewritten)
    if isinstance(annotation, types.GenericAlias):
        return types.GenericAlias(origin, rewritten)
    copy_with: Callable[[tuple[object, ...]], object] | None = getattr(annotation, "copy_with", None)
    return copy_with(rewritten) if copy_with is not None else annotation


def for_pydantic(annotation: object) -> object:
    """The annotation with every ``typing.TypedDict`` in it rebuilt as a ``typing_extensions.TypedDict``.

    pydantic refuses the standard library's TypedDict before Python 3.12, and
    users write it: each is rebuilt, recursively, with its name, docstring and
    required keys. From Python 3.12 on the annotation is returned as is.
    """
    if sys.version_info >= (3, 12):
        return annotation
    with _rebuilt_lock:
        return rewrite(annotation, _rebuild_typed_dict)


# By original, for the process: a TypedDict named by several tools is rebuilt once, so described once,
# and a recursive one refers to its own rebuild.
_rebuilt: dict[type, type] = {}
_rebuilt_lock = threading.RLock()


def _rebuild_typed_dict(annotation: object) -> type | None:
    if not (isinstance(annotation, type) and type(annotation).__module__ == "typing"):
        return None
    if not typing.is_typeddict(annotation):
        return None
    rebuilt = _rebuilt.get(annotation)
    if rebuilt is not None:
        return rebuilt
    rebuilt = typed_dict(annotation.__name__, {})
    _rebuilt[annotation] = rebuilt
    hints = typing.get_type_hints(annotation, include_extras=True)
    # Python 3.11 counts a postponed NotRequired["..."] key as required: the resolved hint says better.
    required = {
        key
        for key, hint in hints.items()
        if typing.get_origin(hint) is typing.Required
        or (key in getattr(annotation, "__required_keys__", ()) and typing.get_origin(hint) is not typing.NotRequired)
    }
    # Fields are set once the class exists, so that they may refer to it.
    rebuilt.__annotations__ = {
        key: rewrite(_without_required(hint), _rebuild_typed_dict) for key, hint in hints.items()
    }
    for attribute, value in (
        ("__required_keys__", frozenset(required)),
        ("__optional_keys__", frozenset(hints) - required),
        ("__total__", getattr(annotation, "__total__", True)),
        ("__doc__", annotation.__doc__),
        ("__module__", annotation.__module__),
        ("__qualname__", annotation.__qualname__),
    ):
        setattr(rebuilt, attribute, value)
    return rebuilt


def first_line(error: BaseException) -> str:
    """An exception's message for a log line: pydantic's run on for paragraphs."""
    return next(iter(str(error).splitlines()), type(error).__name__)


def typed_dict(name: str, fields: Mapping[str, object], **options: object) -> type:
    """A ``typing_extensions.TypedDict`` made at run time (a call that type checkers take for a declaration)."""
    make: Callable[..., type] = getattr(typing_extensions, "TypedDict")  # noqa: B009 - hidden from type checkers
    return make(name, dict(fields), **options)


def _without_required(hint: object) -> object:
    # Required[] and NotRequired[] are already counted in __required_keys__.
    while typing.get_origin(hint) in (typing.Required, typing.NotRequired):
        hint = typing.get_args(hint)[0]
    return hint
