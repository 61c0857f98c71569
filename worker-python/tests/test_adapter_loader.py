"""Loading the adapter class named on the command line."""

from __future__ import annotations

import re
import sys

import pytest
from sample_adapters import SampleAdapter
from snakepit_bridge.adapter_loader import AdapterPathError, load_adapter
from snakepit_bridge.base_adapter import tools_of


@pytest.mark.parametrize("path", ["sample_adapters.SampleAdapter", "sample_adapters:SampleAdapter"])
def test_module_dot_class_and_module_colon_class_load_the_same_adapter(path: str) -> None:
    adapter, name = load_adapter(path)

    assert isinstance(adapter, SampleAdapter)
    assert name == "sample_adapters.SampleAdapter"
    assert "add" in tools_of(adapter)


def test_a_dotted_module_path_loads() -> None:
    adapter, name = load_adapter("snakepit_bridge.base_adapter:BaseAdapter")

    assert type(adapter).__name__ == "BaseAdapter"
    assert name == "snakepit_bridge.base_adapter.BaseAdapter"
    assert tools_of(adapter) == {}


def test_each_load_makes_a_new_instance() -> None:
    first, _ = load_adapter("sample_adapters.SampleAdapter")
    second, _ = load_adapter("sample_adapters.SampleAdapter")

    assert first is not second


@pytest.mark.parametrize(
    "path",
    [
        "",
        "SampleAdapter",
        ".SampleAdapter",
        "sample_adapters.",
        "sample_adapters:",
        ":SampleAdapter",
        "sample_adapters..SampleAdapter",
        "sample-adapters.SampleAdapter",
        "sample_adapters:Sample.Adapter",
        "sample_adapters:SampleAdapter:extra",
        "1module.Class",
        "module.Class()",
    ],
)
def test_malformed_paths_are_refused_before_importing(path: str) -> None:
    with pytest.raises(AdapterPathError, match=re.escape("'module.Class' or 'module:Class'")):
        load_adapter(path)


def test_a_missing_class_is_named() -> None:
    with pytest.raises(AdapterPathError, match="'sample_adapters' has no attribute 'MissingAdapter'"):
        load_adapter("sample_adapters.MissingAdapter")


@pytest.mark.parametrize("name", ["NotAnAdapter", "not_a_class", "TrainingDiverged"])
def test_something_other_than_a_base_adapter_subclass_is_refused(name: str) -> None:
    with pytest.raises(AdapterPathError, match=f"sample_adapters.{name} is not a subclass of .*BaseAdapter"):
        load_adapter(f"sample_adapters.{name}")


def test_a_missing_module_raises_pythons_own_error() -> None:
    with pytest.raises(ModuleNotFoundError, match="no_such_module_for_snakepit"):
        load_adapter("no_such_module_for_snakepit.Adapter")


def test_an_exception_raised_while_importing_propagates_with_its_own_type() -> None:
    with pytest.raises(Exception) as raised:
        load_adapter("broken_adapter.Adapter")

    assert type(raised.value).__name__ == "AdapterConfigMissing"
    assert type(raised.value).__module__ == "broken_adapter"
    assert str(raised.value) == "MODEL_PATH is not set"
    assert not isinstance(raised.value, AdapterPathError)
    assert "broken_adapter" not in sys.modules, "a failed import leaves no half-initialised module behind"
