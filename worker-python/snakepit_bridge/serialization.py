"""Snakepit's ``TypeSerializer``: a value of a named type to a protobuf ``Any`` (plus raw bytes for
large arrays) and back, for adapters that use it directly.

Implemented over this package's own encoding rules, which are stricter than Snakepit's: JSON only
(what JSON cannot carry raises ``TypeError`` instead of becoming a marker object), never pickle.
Large ``tensor`` and ``embedding`` values (over 10 KiB) travel as raw little-endian float64 bytes,
described by the ``Any``'s JSON (``shape``, ``dtype``, ``binary_format: "raw"``), where Snakepit
pickles them; Snakepit's own bytes therefore do not decode here, nor ours there.
"""

from __future__ import annotations

import json
import math
import sys
from array import array
from typing import Any

from google.protobuf import any_pb2

BINARY_THRESHOLD = 10_240
_TYPE_URL_PREFIX = "type.googleapis.com/snakepit."
_BINARY_SUFFIX = ".binary"
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

_encode_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def _numpy() -> Any:
    # Only a value that already is a numpy array can need numpy: it is never imported here.
    return sys.modules.get("numpy")


def _is_ndarray(value: object) -> bool:
    numpy = _numpy()
    return numpy is not None and isinstance(value, numpy.ndarray)


def _json(value: object) -> bytes:
    try:
        return _encode_json(value).encode()
    except (TypeError, ValueError) as error:
        raise TypeError(f"cannot encode a value of type {type(value).__qualname__} as JSON: {error}") from error


def _float_json(value: float) -> object:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


class TypeSerializer:
    """Encodes and decodes the values of Snakepit's variable types: ``float``, ``integer``, ``string``,
    ``boolean``, ``choice``, ``module``, ``embedding`` (a list of floats), ``tensor`` (``{shape, data}``
    or a numpy array); any other type name is plain JSON."""

    @staticmethod
    def encode_any(value: Any, var_type: str) -> tuple[any_pb2.Any, bytes | None]:
        """The value as an ``Any`` whose ``value`` is JSON, and the raw bytes of a large array (else None)."""
        normalized = TypeSerializer._normalize(value, var_type)
        flat = TypeSerializer._binary_candidate(normalized, var_type)
        message = any_pb2.Any()
        if flat is not None:
            shape = normalized["shape"] if var_type == "tensor" else [len(flat)]
            message.type_url = f"{_TYPE_URL_PREFIX}{var_type}{_BINARY_SUFFIX}"
            description = {"shape": shape, "dtype": "float64", "binary_format": "raw", "type": var_type}
            message.value = _json(description)
            data = array("d", flat)
            if sys.byteorder != "little":
                data.byteswap()
            return message, data.tobytes()
        message.type_url = f"{_TYPE_URL_PREFIX}{var_type}"
        message.value = _json(_float_json(normalized) if isinstance(normalized, float) else normalized)
        return message, None

    @staticmethod
    def decode_any(any_msg: any_pb2.Any, binary_data: bytes | None = None) -> Any:
        """The value ``encode_any`` encoded (a tensor from JSON as a numpy array when numpy is loaded)."""
        type_name = any_msg.type_url.rsplit("/", 1)[-1]
        if type_name.endswith(_BINARY_SUFFIX) and binary_data is not None:
            return TypeSerializer._decode_binary(
                type_name.removesuffix(_BINARY_SUFFIX).rsplit(".", 1)[-1], any_msg, binary_data
            )
        var_type = type_name.rsplit(".", 1)[-1]
        value: Any = json.loads(any_msg.value) if any_msg.value else None
        if var_type == "float":
            return _SPECIAL_FLOATS[value] if isinstance(value, str) and value in _SPECIAL_FLOATS else float(value)
        if var_type == "integer":
            return int(value)
        if var_type == "tensor" and isinstance(value, dict) and {"shape", "data"} <= value.keys():
            numpy = _numpy()
            return numpy.array(value["data"]).reshape(value["shape"]) if numpy is not None else value
        return value

    @staticmethod
    def validate_constraints(value: Any, var_type: str, constraints: dict[str, Any]) -> None:
        """Raises ``ValueError`` when the value breaks a constraint: ``min``/``max`` (float, integer),
        ``min_length``/``max_length`` (string), ``choices`` (choice), ``allowed_modules`` (module),
        ``dimensions`` (embedding), ``shape`` (tensor)."""
        if var_type in ("float", "integer"):
            low, high = constraints.get("min"), constraints.get("max")
            if low is not None and value < low:
                raise ValueError(f"Value {value} is below minimum {low}")
            if high is not None and value > high:
                raise ValueError(f"Value {value} is above maximum {high}")
        elif var_type == "string":
            length, shortest, longest = len(value), constraints.get("min_length", 0), constraints.get("max_length")
            if length < shortest:
                raise ValueError(f"String too short: {length} < {shortest}")
            if longest and length > longest:
                raise ValueError(f"String too long: {length} > {longest}")
        elif var_type in ("choice", "module"):
            allowed = constraints.get("choices" if var_type == "choice" else "allowed_modules") or []
            if allowed and value not in allowed:
                raise ValueError(
                    f"Value {value} not in allowed {'choices' if var_type == 'choice' else 'modules'}: {allowed}"
                )
        elif var_type == "embedding":
            dimensions = constraints.get("dimensions")
            if dimensions and len(value) != dimensions:
                raise ValueError(f"Wrong dimensions: {len(value)} != {dimensions}")
        elif var_type == "tensor":
            expected = constraints.get("shape")
            actual: Any = value.get("shape") if isinstance(value, dict) else list(value.shape)
            if expected and list(actual) != list(expected):
                raise ValueError(f"Wrong shape: {actual} != {expected}")

    @staticmethod
    def _normalize(value: Any, var_type: str) -> Any:
        if var_type == "float":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            raise ValueError(f"Expected number, got {type(value).__name__}")
        if var_type == "integer":
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise ValueError(f"Expected integer, got {value!r}")
        if var_type in ("string", "choice", "module"):
            return str(value)
        if var_type == "boolean":
            if isinstance(value, bool):
                return value
            raise ValueError(f"Expected boolean, got {type(value).__name__}")
        if var_type == "embedding":
            if _is_ndarray(value):
                return [float(x) for x in value.ravel().tolist()]
            if isinstance(value, (list, tuple)):
                return [float(x) for x in value]
            raise ValueError(f"Expected array/list, got {type(value).__name__}")
        if var_type == "tensor":
            if _is_ndarray(value):
                return {"shape": list(value.shape), "data": value.tolist()}
            if isinstance(value, dict) and "shape" in value and "data" in value:
                return value
            raise ValueError(f"Expected tensor, got {type(value).__name__}")
        return value

    @staticmethod
    def _binary_candidate(value: Any, var_type: str) -> list[float] | None:
        """The flat float data of a tensor or embedding large enough to travel raw; None otherwise."""
        flat: list[float] | None
        if var_type == "embedding":
            flat = value
        elif var_type == "tensor":
            flat = _flatten(value["data"])
        else:
            return None
        if flat is None or len(flat) * 8 <= BINARY_THRESHOLD:
            return None
        return flat

    @staticmethod
    def _decode_binary(var_type: str, any_msg: any_pb2.Any, binary_data: bytes) -> Any:
        description = json.loads(any_msg.value)
        if description.get("binary_format") != "raw":
            raise ValueError(f"cannot decode binary format {description.get('binary_format')!r}: only raw float64")
        data = array("d")
        data.frombytes(binary_data)
        if sys.byteorder != "little":
            data.byteswap()
        values = data.tolist()
        if var_type == "tensor":
            return {"shape": description.get("shape", []), "data": _reshape(values, description.get("shape", []))}
        if var_type == "embedding":
            return values
        raise ValueError(f"Binary decoding not supported for type: {var_type}")


def _flatten(data: Any) -> list[float] | None:
    """The numbers of a nested list, row-major; None when it holds anything else."""
    if not isinstance(data, list):
        return None
    flat: list[float] = []
    pending: list[Any] = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(reversed(item))
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            flat.append(float(item))
        else:
            return None
    return flat


def _reshape(values: list[float], shape: list[int]) -> Any:
    """Nests a flat list into ``shape``, row-major."""
    nested: list[Any] = list(values)
    for size in reversed(shape[1:]):
        nested = [nested[start : start + size] for start in range(0, len(nested), size)]
    return nested
