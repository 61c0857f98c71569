"""Dataframes and Arrow data as Arrow IPC streams (arrow_values.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from snakepit_bridge.arrow_values import arrow_payload
from snakepit_bridge.proto import bridge_pb2 as pb


def read(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


def test_a_record_batch_is_a_stream_of_that_batch() -> None:
    batch = pa.record_batch({"x": [1, 2, 3]})

    payload = arrow_payload(batch)

    assert payload is not None and payload[0] == pb.ENCODING_ARROW_RECORD_BATCH
    assert read(payload[1]).to_batches() == [batch]


def test_a_table_is_a_stream_of_its_batches() -> None:
    table = pa.Table.from_batches([pa.record_batch({"x": [1]}), pa.record_batch({"x": [2, 3]})])

    payload = arrow_payload(table)

    assert payload is not None and payload[0] == pb.ENCODING_ARROW_TABLE
    assert read(payload[1]).equals(table)
    assert len(read(payload[1]).to_batches()) == 2


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(np.arange(12.0).reshape(4, 3), columns=["a", "b", "c"]),
        pd.DataFrame({"f": [0.5, np.nan, -0.0], "i": np.array([1, 2**60, -3]), "b": [True, False, True]}),
        pd.DataFrame({"s": ["a", None], "t": pd.to_datetime(["2024-01-01", None]), "c": pd.Categorical(["x", "y"])}),
        pd.DataFrame({3: [1.0], "x": [2.0]}),
        pd.DataFrame(np.array([[1.0, np.inf], [np.nan, -0.0]], dtype=np.float32), columns=["x", "y"]),
        pd.DataFrame({"u": np.array([1, 255], dtype=np.uint8), "f": np.array([1.5, np.nan], dtype=np.float32)}),
        pd.DataFrame({"i": pd.array([1, None], dtype="Int64"), "f": [1.0, 2.0]}),
        pd.DataFrame({"f": pd.array([1.5, None], dtype="Float64"), "b": pd.array([True, None], dtype="boolean")}),
    ],
    ids=[
        "numeric",
        "nan as null",
        "strings, times, categories",
        "a number as name",
        "one dtype with nan and infinities",
        "several numeric dtypes",
        "nullable integers",
        "nullable floats and booleans",
    ],
)
def test_a_pandas_frame_is_the_table_from_pandas_makes_without_its_pandas_metadata(frame: pd.DataFrame) -> None:
    payload = arrow_payload(frame)

    assert payload is not None and payload[0] == pb.ENCODING_ARROW_TABLE
    expected = pa.Table.from_pandas(frame).replace_schema_metadata(None)
    assert read(payload[1]).equals(expected)
    assert read(payload[1]).schema.metadata is None


@pytest.mark.parametrize(
    ("frame", "index"),
    [
        (pd.DataFrame({"f": [1.0, 2.0]}, index=pd.RangeIndex(5, 7)), [5, 6]),
        (pd.DataFrame({"f": [1.0, 2.0, 3.0, 4.0]}).iloc[2:], [2, 3]),
        (pd.DataFrame({"f": [1.0, 2.0]}, index=pd.RangeIndex(0, 4, 2)), [0, 2]),
        (pd.DataFrame({"f": [1.0, 2.0]}, index=[7, 5]), [7, 5]),
    ],
    ids=["a range from 5", "a slice", "a range with a step", "labels"],
)
def test_an_index_that_says_something_travels_as_a_column(frame: pd.DataFrame, index: list[int]) -> None:
    payload = arrow_payload(frame)

    assert payload is not None
    table = read(payload[1])
    assert table.column_names == ["f", "__index_level_0__"]
    assert table.column("__index_level_0__").to_pylist() == index
    assert table.schema.metadata is None


def test_the_default_index_does_not_travel() -> None:
    payload = arrow_payload(pd.DataFrame({"f": [1.0, 2.0]}, index=pd.RangeIndex(0, 2, name="row")))

    assert payload is not None and read(payload[1]).column_names == ["f"]


def test_a_frame_without_columns_keeps_its_rows() -> None:
    payload = arrow_payload(pd.DataFrame(index=range(3)))

    assert payload is not None and read(payload[1]).num_rows == 3


def test_a_polars_frame_writes_strings_as_large_string_which_apache_arrow_reads() -> None:
    payload = arrow_payload(pl.DataFrame({"s": ["a", None], "i": [1, 2]}))

    assert payload is not None and payload[0] == pb.ENCODING_ARROW_TABLE
    table = read(payload[1])
    assert table.schema.field("s").type == pa.large_string()
    assert table.column("s").to_pylist() == ["a", None]


def test_other_values_are_not_arrow() -> None:
    for value in ({"a": 1}, [1], "text", np.arange(3), b"x"):
        assert arrow_payload(value) is None
