"""How a Python class exposes tools: subclass BaseAdapter and mark methods with @tool."""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_TOOL_ATTRIBUTE = "__snakepit_tool__"


@dataclass(frozen=True)
class ToolOptions:
    description: str
    supports_streaming: bool


@dataclass(frozen=True)
class ParameterInfo:
    name: str
    type: str
    required: bool
    default_json: str


@dataclass(frozen=True)
class ToolInfo:
    """A discovered tool: its public description and the bound method that runs it."""

    name: str
    description: str
    supports_streaming: bool
    parameters: tuple[ParameterInfo, ...]
    function: Callable[..., object]
    signature: inspect.Signature

    def bind(self, arguments: dict[str, object]) -> inspect.BoundArguments:
        """Checks keyword arguments against the signature; raises TypeError naming the culprit."""
        return self.signature.bind(**arguments)


@overload
def tool(func: F, /) -> F: ...
@overload
def tool(*, description: str = "", supports_streaming: bool = False) -> Callable[[F], F]: ...


def tool(func: F | None = None, /, *, description: str = "", supports_streaming: bool = False) -> F | Callable[[F], F]:
    """Marks an adapter method as a tool callable from Node.

    A streaming tool (``supports_streaming=True``) is a generator or async
    generator: each ``yield`` becomes one chunk. Any other tool returns one
    JSON-serializable value (or bytes, or a numpy array). Parameters come from
    the method's signature and are passed as keyword arguments.
    """

    def mark(function: F) -> F:
        setattr(
            function,
            _TOOL_ATTRIBUTE,
            ToolOptions(
                description=description or inspect.getdoc(function) or "",
                supports_streaming=supports_streaming,
            ),
        )
        return function

    return mark(func) if func is not None else mark


def _type_name(annotation: object) -> str:
    if annotation is inspect.Parameter.empty:
        return "any"
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    # Parameterised annotations keep their arguments ("list[float]", not "list"), as they read
    # when the adapter's module postpones annotations and the signature holds the source text.
    return inspect.formatannotation(annotation).replace("typing.", "")


def _default_json(parameter: inspect.Parameter) -> str:
    if parameter.default is inspect.Parameter.empty:
        return ""
    try:
        # allow_nan=False: "NaN" and "Infinity" are not JSON, and Node could not parse them.
        return json.dumps(parameter.default, allow_nan=False)
    except (TypeError, ValueError):
        return ""


def _describe(name: str, function: Callable[..., object], options: ToolOptions) -> ToolInfo:
    signature = inspect.signature(function)
    parameters = tuple(
        ParameterInfo(
            name=parameter.name,
            type=_type_name(parameter.annotation),
            required=parameter.default is inspect.Parameter.empty,
            default_json=_default_json(parameter),
        )
        for parameter in signature.parameters.values()
        if parameter.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    )
    if not options.supports_streaming and (
        inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)
    ):
        logger.warning("tool %s is a generator but not marked supports_streaming=True", name)
    return ToolInfo(
        name=name,
        description=options.description,
        supports_streaming=options.supports_streaming,
        parameters=parameters,
        function=function,
        signature=signature,
    )


class BaseAdapter:
    """Base class of adapters. A worker creates one instance and serves its @tool methods."""

    def tools(self) -> dict[str, ToolInfo]:
        """The adapter's tools by name, discovered once from its @tool methods."""
        cached: dict[str, ToolInfo] | None = self.__dict__.get("_snakepit_tools")
        if cached is None:
            cached = {}
            for name in dir(type(self)):
                options = getattr(getattr(type(self), name, None), _TOOL_ATTRIBUTE, None)
                if isinstance(options, ToolOptions):
                    cached[name] = _describe(name, getattr(self, name), options)
            self.__dict__["_snakepit_tools"] = cached
        return cached
