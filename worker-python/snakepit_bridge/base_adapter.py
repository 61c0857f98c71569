"""How a Python class exposes tools: subclass BaseAdapter and mark methods with @tool."""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from snakepit_bridge import context_tools
from snakepit_bridge.snakepit_api import SnakepitAdapterApi

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_TOOL_ATTRIBUTE = "__snakepit_tool__"
# Where Snakepit keeps a tool's ToolMetadata; adapters look for it (hasattr(method, "_tool_metadata")).
_SNAKEPIT_METADATA_ATTRIBUTE = "_tool_metadata"


@dataclass(frozen=True)
class ToolOptions:
    description: str
    supports_streaming: bool


@dataclass
class ToolMetadata:
    """Snakepit's record of a tool, which ``@tool`` attaches to it as ``_tool_metadata``.

    ``parameters`` and ``required_variables`` are kept as given and not used: parameters come from
    the signature, and there are no session variables.
    """

    description: str = ""
    supports_streaming: bool = False
    parameters: list[dict[str, Any]] = field(default_factory=list)
    required_variables: list[str] = field(default_factory=list)


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
    reserved: frozenset[str] = frozenset()
    """Names that ``**kwargs`` would take but the call cannot pass as keywords (a method's ``self``)."""

    def bind(self, arguments: dict[str, object]) -> inspect.BoundArguments:
        """Checks keyword arguments against the signature; raises TypeError naming the culprit."""
        return self.signature.bind(**arguments)

    def run(self, arguments: dict[str, object]) -> object:
        """Calls the tool with its (validated) arguments, each given by name; positional-only ones are passed
        by position, since Python refuses them as keywords."""
        positional: list[object] = []
        keywords = dict(arguments)
        only = [p for p in self.signature.parameters.values() if p.kind is inspect.Parameter.POSITIONAL_ONLY]
        given = [index for index, parameter in enumerate(only) if parameter.name in keywords]
        for parameter in only[: given[-1] + 1 if given else 0]:
            positional.append(keywords.pop(parameter.name, parameter.default))
        return self.function(*positional, **keywords)


@overload
def tool(func: F, /) -> F: ...
@overload
def tool(
    description: str = "", supports_streaming: bool = False, required_variables: Sequence[str] | None = None
) -> Callable[[F], F]: ...


def tool(
    func: F | str | None = None,
    /,
    supports_streaming: bool = False,
    required_variables: Sequence[str] | None = None,
    *,
    description: str = "",
) -> F | Callable[[F], F]:
    """Marks an adapter method as a tool callable from Node.

    A streaming tool (``supports_streaming=True``) is a generator or async
    generator: each ``yield`` becomes one chunk. Any other tool returns one
    JSON-serializable value (or bytes, or a numpy array). Parameters come from
    the method's signature and are passed as keyword arguments.

    Takes Snakepit's arguments too, as Snakepit does (the description may come
    first, positionally); ``required_variables`` is kept in the tool's
    ``_tool_metadata`` and otherwise ignored.
    """
    if isinstance(func, str):
        description, func = description or func, None

    def mark(function: F) -> F:
        options = ToolOptions(
            description=description or inspect.getdoc(function) or "", supports_streaming=supports_streaming
        )
        setattr(function, _TOOL_ATTRIBUTE, options)
        setattr(
            function,
            _SNAKEPIT_METADATA_ATTRIBUTE,
            ToolMetadata(options.description, supports_streaming, required_variables=list(required_variables or ())),
        )
        return function

    return mark(func) if func is not None else mark


def _options_of(attribute: object) -> ToolOptions | None:
    """The tool options of a class attribute: @tool's, or those of Snakepit's ``_tool_metadata`` set by hand."""
    options = getattr(attribute, _TOOL_ATTRIBUTE, None)
    if isinstance(options, ToolOptions):
        return options
    metadata = getattr(attribute, _SNAKEPIT_METADATA_ATTRIBUTE, None)
    if isinstance(metadata, ToolMetadata):
        return ToolOptions(metadata.description or inspect.getdoc(attribute) or "", metadata.supports_streaming)
    return None


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
        reserved=_reserved_keywords(function, signature),
    )


def _reserved_keywords(function: Callable[..., object], signature: inspect.Signature) -> frozenset[str]:
    """The parameters a bound method (or a context tool) takes before those its signature shows: a keyword
    of that name, which ``**kwargs`` would accept, would give it twice."""
    underlying = getattr(function, "__func__", None) or getattr(function, "handler", None)
    if underlying is None or not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()):
        return frozenset()
    try:
        hidden = inspect.signature(underlying).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(
        p.name
        for p in hidden
        if p.name not in signature.parameters
        and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    )


def tools_of(adapter: BaseAdapter) -> dict[str, ToolInfo]:
    """The adapter's tools by name, discovered once: its @tool methods, then those its ``execute_tool``
    serves (a @tool method wins over one of the same name).

    A function rather than a method, so that no attribute of the adapter's own can hide it: Snakepit's
    adapters are free to name theirs ``tools`` (the showcase keeps ``{name: Tool(func)}`` registries).
    """
    cached: dict[str, ToolInfo] | None = adapter.__dict__.get("_snakepit_tools")
    if cached is None:
        cached = {}
        for name in dir(type(adapter)):
            options = _options_of(getattr(type(adapter), name, None))
            if options is not None:
                cached[name] = _describe(name, getattr(adapter, name), options)
        for name, dispatch in context_tools.discover(adapter).items():
            if name not in cached:
                options = ToolOptions(dispatch.description, dispatch.supports_streaming)
                cached[name] = _describe(name, dispatch, options)
        adapter.__dict__["_snakepit_tools"] = cached
    return cached


class BaseAdapter(SnakepitAdapterApi):
    """Base class of adapters. A worker creates one instance and serves its @tool methods.

    It also has Snakepit's adapter API (``snakepit_bridge.snakepit_api``), and serves the tools an
    adapter dispatches through ``execute_tool`` (``snakepit_bridge.context_tools``).
    """

    def _tools_by_name(self) -> dict[str, ToolInfo]:
        return tools_of(self)
