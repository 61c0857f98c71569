"""Finds the adapter class named on the command line and instantiates it."""

from __future__ import annotations

import importlib

from snakepit_bridge.base_adapter import BaseAdapter


class AdapterPathError(ValueError):
    """The adapter path is malformed or does not name a BaseAdapter subclass."""


def load_adapter(path: str) -> tuple[BaseAdapter, str]:
    """Imports ``module.Class`` or ``module:Class`` and returns an instance and its canonical name.

    Exceptions raised while importing the module propagate unchanged, so that
    the caller reports Python's own type and message.
    """
    module_name, _, class_name = path.partition(":") if ":" in path else path.rpartition(".")
    if (
        not module_name
        or not class_name
        or not all(part.isidentifier() for part in (*module_name.split("."), class_name))
    ):
        raise AdapterPathError(f"adapter must be given as 'module.Class' or 'module:Class', got {path!r}")
    module = importlib.import_module(module_name)
    adapter_class = getattr(module, class_name, None)
    if adapter_class is None:
        raise AdapterPathError(f"module {module_name!r} has no attribute {class_name!r}")
    if not (isinstance(adapter_class, type) and issubclass(adapter_class, BaseAdapter)):
        raise AdapterPathError(
            f"{module_name}.{class_name} is not a subclass of snakepit_bridge.base_adapter.BaseAdapter"
        )
    return adapter_class(), f"{module_name}.{class_name}"
