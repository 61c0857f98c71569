"""What a tool takes and gives, as JSON Schema, and its arguments validated before it runs.

pydantic derives both from the tool's annotations (see type_hints for how
they are read). An annotation pydantic cannot handle means any value, with a
warning: a tool never fails to load because of its annotations.

Binary values, which JSON cannot carry but the bridge can, are described by
the custom keyword ``x-snakepit-type``:

- ``bytes`` in a result: ``{"type": "string", "format": "binary", "x-snakepit-type": "bytes"}``
  (a ``Uint8Array`` in JavaScript);
- a numpy array in a result: ``{"type": "object", "format": "ndarray", "x-snakepit-type": "ndarray"}``,
  with ``"x-snakepit-dtype"`` when the annotation names one (``NDArray[np.float32]``);
- ``bytes`` in an argument is a base64 string (``"contentEncoding": "base64"``), and a numpy
  array in an argument is a JSON array, which the tool receives as ``numpy.asarray(value)``; both
  carry ``x-snakepit-type`` too, since a Node caller may send them binary (binary_arguments.py).
"""

from __future__ import annotations

import enum
import json
import logging
import sys
import threading
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

import typing_extensions
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from snakepit_bridge.argument_errors import describe_validation_error
from snakepit_bridge.base_adapter import ParameterInfo
from snakepit_bridge.binary_arguments import CONTEXT_KEY, BinaryArguments, binaries_of
from snakepit_bridge.errors import CallFailure
from snakepit_bridge.lone_surrogates import Placeholders
from snakepit_bridge.type_hints import ToolHints, first_line, for_pydantic, rewrite, typed_dict

logger = logging.getLogger(__name__)

BINARY_KEYWORD = "x-snakepit-type"
DTYPE_KEYWORD = "x-snakepit-dtype"
BYTES_SCHEMA: dict[str, object] = {"type": "string", "format": "binary", BINARY_KEYWORD: "bytes"}


def ndarray_schema(dtype: str | None = None) -> dict[str, object]:
    schema: dict[str, object] = {"type": "object", "format": "ndarray", BINARY_KEYWORD: "ndarray"}
    return {**schema, DTYPE_KEYWORD: dtype} if dtype else schema


class _SchemaGenerator(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: object) -> bool:
        # A title on every property would make each its own named type in generated TypeScript.
        return False

    def bytes_schema(self, schema: core_schema.BytesSchema) -> JsonSchemaValue:
        if self.mode == "serialization":
            return dict(BYTES_SCHEMA)
        return {"type": "string", "contentEncoding": "base64"}

    def is_instance_schema(self, schema: core_schema.IsInstanceSchema) -> JsonSchemaValue:
        if _is_ndarray(schema["cls"]):
            return ndarray_schema()
        return super().is_instance_schema(schema)


_ARGUMENTS_CONFIG = ConfigDict(strict=True, val_json_bytes="base64")
_RESULT_CONFIG = ConfigDict(arbitrary_types_allowed=True)


class ToolSchemas:
    """One tool's schemas, and the validator of its arguments."""

    def __init__(self, name: str, hints: ToolHints, parameters: Sequence[ParameterInfo]) -> None:
        self._name = name
        self._parameters = parameters
        self._hints = hints
        self._adapter, parameters_schema = _arguments(name, hints)
        # The validator of calls that carry binary arguments, built on the first such call, and whether a
        # union of the signature has a member that takes them (BinaryArguments.refuse_unplaced).
        self._binary_adapter: TypeAdapter[dict[str, object]] | None = None
        self._binary_unions = False
        self._binary_lock = threading.Lock()
        properties = parameters_schema.get("properties", {})
        for parameter in parameters:
            if parameter.default_json and isinstance(properties.get(parameter.name), dict):
                properties[parameter.name]["default"] = json.loads(parameter.default_json)
        self.parameters_schema_json = _dumps(parameters_schema)
        self.result_schema_json = _dumps(_result_schema(name, hints.result))
        # Parameters annotated with a union of several types, which errors describe by their annotation.
        self._unions = frozenset(key for key, annotation in hints.parameters.items() if _is_union(annotation))

    def validate(self, raw: bytes, binaries: dict[str, object] | None = None) -> dict[str, object]:
        """The arguments (a JSON object) checked against the signature and converted to its types, with
        the binary arguments (``binaries``, by placeholder) in place.

        Raises an ``invalid_arguments`` CallFailure naming each wrong, missing or unexpected argument.
        """
        attached = BinaryArguments(binaries) if binaries else None
        context: dict[str, object] | None = None if attached is None else {CONTEXT_KEY: attached}
        adapter = self._adapter if attached is None else self._binary_validator()
        try:
            validated = adapter.validate_json(raw or b"{}", strict=True, context=context)
        except ValidationError as error:
            received = json.loads(raw) if raw else {}
            if _zero_negative_zero_ints(error, received):
                return self.validate(json.dumps(received).encode(), binaries)
            if not _only_unparsable(error):
                raise self._invalid(error, received, binaries=attached) from error
            validated = self._validate_masked(adapter, received, context)
        if attached is not None:
            attached.refuse_unplaced(validated, may_keep_placeholders=self._binary_unions)
        return validated

    def _binary_validator(self) -> TypeAdapter[dict[str, object]]:
        """The validator that puts binary arguments in place. The usual one's validation of bytes from base64
        is pydantic's own, which a validator around it would turn off (it would see Python's str)."""
        with self._binary_lock:
            if self._binary_adapter is None:
                annotations = [*self._hints.parameters.values(), self._hints.extra]
                self._binary_unions = any(_union_takes_binaries(annotation) for annotation in annotations)
                self._binary_adapter = _arguments(self._name, self._hints, binary=True)[0]
            return self._binary_adapter

    def _validate_masked(
        self, adapter: TypeAdapter[dict[str, object]], received: dict[str, object], context: dict[str, object] | None
    ) -> dict[str, object]:
        # Python's json read them, so only lone surrogates can have stopped pydantic's parser.
        placeholders = Placeholders()
        masked = placeholders.mask(received)
        try:
            validated = adapter.validate_json(json.dumps(masked), strict=True, context=context)
        except ValidationError as error:
            raise self._invalid(error, received, placeholders.restore, binaries_of(context)) from error
        try:
            arguments: dict[str, object] = placeholders.unmask(validated)
        except ValueError as error:
            raise CallFailure(code="invalid_arguments", message=f"{self._name}(): {error}") from error
        return arguments

    def _invalid(
        self,
        error: ValidationError,
        received: dict[str, object],
        restore: Callable[[object], object] | None = None,
        binaries: BinaryArguments | None = None,
    ) -> CallFailure:
        annotations = {parameter.name: parameter.type for parameter in self._parameters}
        problems = describe_validation_error(
            error,
            received,
            annotations,
            self._unions,
            restore or (lambda value: value),
            None if binaries is None else binaries.described(),
        )
        return CallFailure(
            code="invalid_arguments",
            message=f"{self._name}(): {problems}",
            hint=f"parameters: {', '.join(annotations) or 'none'}",
        )


def _zero_negative_zero_ints(error: ValidationError, received: dict[str, object]) -> bool:
    """Makes 0 of each -0.0 that an int refused, and says whether there was any.

    JavaScript has one zero for ints and floats, and writes -0 as -0.0 so that a float keeps its sign;
    an int has no sign for zero to keep.
    """
    changed = False
    for each in error.errors(include_url=False):
        value = each["input"]
        if each["type"] != "int_type" or not isinstance(value, float) or value != 0.0:
            continue
        *parents, last = each["loc"]
        container: Any = received
        try:
            for key in parents:
                container = container[key]
            if container[last] == 0.0:
                container[last] = 0
                changed = True
        except (KeyError, IndexError, TypeError):
            continue  # a location inside a union's branch, not the input's own path
    return changed


def _only_unparsable(error: ValidationError) -> bool:
    return all(each["type"] == "json_invalid" for each in error.errors(include_url=False))


def _dumps(schema: object) -> str:
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


# --- arguments ----------------------------------------------------------------------------------


def _arguments(
    name: str, hints: ToolHints, *, binary: bool = False
) -> tuple[TypeAdapter[dict[str, object]], dict[str, Any]]:
    """The validator of a tool's arguments, and their JSON Schema; with ``binary``, one that puts binary
    arguments in place (see binary_arguments.py)."""
    fields = {key: _argument_type(annotation, binary) for key, annotation in hints.parameters.items()}
    extra = None if hints.extra is None else _argument_type(hints.extra, binary)
    try:
        return _arguments_adapter(name, fields, hints.required, extra)
    except Exception:  # find which annotations pydantic refuses, and take them as any value
        pass
    for key, annotation in fields.items():
        fields[key] = _usable_argument(name, f"parameter {key!r}", annotation)
    if extra is not None:
        extra = _usable_argument(name, "**kwargs", extra)
    return _arguments_adapter(name, fields, hints.required, extra)


def _arguments_adapter(
    name: str, fields: dict[str, object], required: frozenset[str], extra: object | None
) -> tuple[TypeAdapter[dict[str, object]], dict[str, Any]]:
    keys = {
        key: typing_extensions.Required[annotation] if key in required else typing_extensions.NotRequired[annotation]
        for key, annotation in fields.items()
    }
    title = f"{_pascal(name)}Arguments"
    if extra is None:
        arguments = typed_dict(title, keys)
        arguments.__pydantic_config__ = ConfigDict(**_ARGUMENTS_CONFIG, extra="forbid")  # type: ignore[attr-defined]
    else:
        arguments = typed_dict(title, keys, extra_items=extra)
        arguments.__pydantic_config__ = _ARGUMENTS_CONFIG  # type: ignore[attr-defined]
    adapter: TypeAdapter[dict[str, object]] = TypeAdapter(arguments)
    return adapter, adapter.json_schema(schema_generator=_SchemaGenerator)


def _argument_type(annotation: object, binary: bool) -> object:
    return rewrite(for_pydantic(annotation), _binary_argument if binary else _plain_argument)


def _plain_argument(annotation: object) -> object | None:
    if annotation is bytes:
        return _BYTES_SCHEMA
    return _enum_argument(annotation) or _array_argument(annotation, binary=False)


def _binary_argument(annotation: object) -> object | None:
    """The parts of an argument's annotation that may take binary arguments, rewritten to put them in place."""
    if annotation is bytes:
        return _BYTES_ARGUMENT
    if annotation is Any or annotation is object:
        return _ANY_ARGUMENT
    return _enum_argument(annotation) or _array_argument(annotation, binary=True)


def _enum_argument(annotation: object) -> object | None:
    """An Enum with integer values, refusing booleans: pydantic looks members up by value, and Python's
    ``True == 1`` would make ``true`` arrive as the member of value 1 (``false`` as an IntFlag's 0)."""
    if not (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
        return None
    values = [member.value for member in annotation]
    if not any(isinstance(value, int) and not isinstance(value, bool) for value in values):
        return None
    shown = [repr(value) for value in values]
    expected = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"

    def refuse_booleans(value: object) -> object:
        if isinstance(value, bool):
            raise PydanticCustomError("enum", "Input should be {expected}", {"expected": expected})
        return value

    return typing.Annotated[annotation, BeforeValidator(refuse_booleans)]


def _attached(value: object, info: ValidationInfo, kind: type) -> object | None:
    binaries = binaries_of(info.context)
    return None if binaries is None else binaries.take(value, kind)


def _union_takes_binaries(annotation: object) -> bool:
    """Whether a union in the annotation (Optional aside) has a member that takes binary arguments."""
    unions: list[object] = []

    def collect(part: object) -> None:
        if _is_union(part):
            unions.append(part)

    rewrite(annotation, collect)
    return any(rewrite(member, _binary_argument) is not member for union in unions for member in typing.get_args(union))


_BASE64 = TypeAdapter(bytes, config=ConfigDict(val_json_bytes="base64"))
# The error of a binary argument where the other kind is expected; its message is what was expected, as
# pydantic's own say it after "Input should be " (argument_errors.py).
_WRONG_KIND = "snakepit_binary_kind"


def _bytes_or_attachment(value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> object:
    attached = _attached(value, info, bytes)
    if attached is None:
        if not isinstance(value, str):
            return handler(value)
        # Base64 text, decoded by pydantic as the usual validator does, and refused with its words (a
        # ValueError would add "Value error, " to them).
        try:
            return _BASE64.validate_json(json.dumps(value))
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            raise PydanticCustomError(first["type"], "{message}", {"message": first["msg"]}) from None
    if not isinstance(attached, bytes):
        raise PydanticCustomError(_WRONG_KIND, "bytes (a Uint8Array)")
    return attached


def _put_in_place(value: object, info: ValidationInfo) -> object:
    binaries = binaries_of(info.context)
    return value if binaries is None else binaries.put_in_place(value)


_BYTES_ARGUMENT_SCHEMA = WithJsonSchema({"type": "string", "contentEncoding": "base64", BINARY_KEYWORD: "bytes"})
_BYTES_SCHEMA: object = typing.Annotated[bytes, _BYTES_ARGUMENT_SCHEMA]
_BYTES_ARGUMENT: object = typing.Annotated[bytes, WrapValidator(_bytes_or_attachment), _BYTES_ARGUMENT_SCHEMA]
_ANY_ARGUMENT: object = typing.Annotated[Any, AfterValidator(_put_in_place)]


def _usable_argument(name: str, what: str, annotation: object) -> object:
    """The annotation if pydantic can check and describe it, else Any."""
    try:
        TypeAdapter(_holder(annotation, _ARGUMENTS_CONFIG)).json_schema(schema_generator=_SchemaGenerator)
        return annotation
    except Exception as error:  # any annotation pydantic refuses means any value
        logger.warning(
            "tool %s: cannot check %s against %s (%s); it takes any value", name, what, annotation, first_line(error)
        )
        return Any


def _array_argument(annotation: object, binary: bool) -> object | None:
    """A numpy array argument arrives as a JSON array (or, with ``binary``, as an attachment), and the tool
    receives it as an array."""
    if not _is_ndarray(typing.get_origin(annotation) or annotation):
        return None
    dtype = _dtype_of(annotation)
    numpy: Any = sys.modules["numpy"]

    def array_or_attachment(value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> object:
        attached = _attached(value, info, numpy.ndarray) if binary else None
        if attached is None:
            return numpy.asarray(handler(value), dtype=dtype)
        if not isinstance(attached, numpy.ndarray):
            raise PydanticCustomError(_WRONG_KIND, "an array (a typed array or an NdArray)")
        # The array's own dtype unless the annotation names one (NDArray[np.float32]); no copy when they agree.
        return attached if dtype is None else attached.astype(dtype, copy=False)

    schema: dict[str, object] = {"type": "array", BINARY_KEYWORD: "ndarray"}
    return typing.Annotated[
        list[Any],
        WrapValidator(array_or_attachment),
        WithJsonSchema({**schema, DTYPE_KEYWORD: dtype} if dtype else schema),
    ]


# --- results ------------------------------------------------------------------------------------


def _result_schema(name: str, annotation: object) -> dict[str, Any]:
    result = rewrite(for_pydantic(annotation), _array_result)
    try:
        return _schema_of_result(result)
    except Exception as error:  # any annotation pydantic refuses means any value
        logger.warning(
            "tool %s: cannot describe its result %s (%s); it is any value", name, annotation, first_line(error)
        )
        return {}


def _schema_of_result(annotation: object) -> dict[str, Any]:
    holder = _holder(annotation, _RESULT_CONFIG)
    schema = TypeAdapter(holder).json_schema(mode="serialization", schema_generator=_SchemaGenerator)
    value: dict[str, Any] = schema["properties"]["value"]
    definitions = schema.get("$defs")
    return {**value, "$defs": definitions} if definitions else value


def _array_result(annotation: object) -> object | None:
    if not _is_ndarray(typing.get_origin(annotation) or annotation):
        return None
    return typing.Annotated[Any, WithJsonSchema(ndarray_schema(_dtype_of(annotation)))]


# --- shared -------------------------------------------------------------------------------------


def _holder(annotation: object, config: ConfigDict) -> type:
    """A TypedDict whose one key, "value", takes the annotation, so that the config applies to it whatever
    it is (pydantic refuses a config given along with a model, dataclass or TypedDict)."""
    holder = typed_dict("Holder", {"value": annotation})
    holder.__pydantic_config__ = config  # type: ignore[attr-defined]
    return holder


def _is_union(annotation: object) -> bool:
    """A union of several types; Optional[X] is not one here, pydantic reports it as X."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return False
    return len([member for member in typing.get_args(annotation) if member is not type(None)]) > 1


def _is_ndarray(cls: object) -> bool:
    # numpy is never imported here: an annotation names numpy's array only if the adapter imported numpy.
    numpy = sys.modules.get("numpy")
    return numpy is not None and cls is numpy.ndarray


def _dtype_of(annotation: object) -> str | None:
    """The dtype an ``NDArray[np.float32]``-style annotation names, if it names one."""
    arguments = typing.get_args(annotation)
    if len(arguments) != 2:
        return None
    scalar = typing.get_args(arguments[1])
    if len(scalar) != 1 or scalar[0] is Any:
        return None
    numpy: Any = sys.modules["numpy"]
    try:
        return str(numpy.dtype(scalar[0]).name)
    except TypeError:
        return None
