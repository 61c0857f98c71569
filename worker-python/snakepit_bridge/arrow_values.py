"""Dataframes and Arrow data as Arrow IPC streams, which Node reads in place as apache-arrow tables.

A pyarrow ``RecordBatch`` travels as a stream of one batch and arrives as a
``RecordBatch``; a pyarrow ``Table``, a pandas ``DataFrame`` or a polars
``DataFrame`` as a stream of the table's batches, and arrives as a ``Table``.

None of these libraries is imported here unless the tool already did: a value
can only be a DataFrame if its module is loaded (pandas and polars then need
pyarrow, which the error says how to install).
"""

from __future__ import annotations

import sys
from typing import Any

from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.value_rules import Refusal, Refused


def _loaded(name: str) -> Any:
    return sys.modules.get(name)


def _pyarrow(kind: str) -> Any:
    try:
        import pyarrow  # only for a tool that yields a dataframe
    except ImportError as error:
        raise TypeError(f"a {kind} travels as Arrow data, which needs pyarrow: pip install pyarrow") from error
    return pyarrow


def _ipc_stream(pyarrow: Any, schema: Any, batches: list[Any]) -> bytes:
    sink = pyarrow.BufferOutputStream()
    with pyarrow.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return bytes(sink.getvalue().to_pybytes())


def _pandas_table(pandas: Any, pyarrow: Any, frame: Any) -> Any:
    """A DataFrame as a pyarrow Table, as ``Table.from_pandas`` makes it, without its pandas metadata
    (what pandas needs to rebuild the frame means nothing to apache-arrow's readers).

    The index travels as a column when it says something (not a plain 0..n-1 range). A frame of plain
    numpy numeric columns, the usual dataset, is converted column by column (from_pandas takes about
    0.75 ms for 1,000 rows of 10 float columns); pandas' nullable dtypes (``Int64``...) go through
    from_pandas, which knows their missing values.
    """
    dtypes = frame.dtypes
    numpy_dtype = sys.modules["numpy"].dtype  # loaded with pandas
    default_index = isinstance(frame.index, pandas.RangeIndex) and frame.index.start == 0 and frame.index.step == 1
    plain = (
        default_index
        and frame.columns.is_unique
        and all(isinstance(name, str) for name in frame.columns)
        and all(isinstance(dtype, numpy_dtype) and dtype.kind in "biuf" for dtype in dtypes)
    )
    if default_index and len(frame.columns) == 0:
        # pyarrow counts a table's rows from its columns: a column of nulls gives the count, and goes.
        return pyarrow.table({"rows": pyarrow.nulls(len(frame))}).drop_columns(["rows"])
    if not plain:
        # from_pandas keeps any other RangeIndex in the pandas metadata alone, which does not travel.
        return pyarrow.Table.from_pandas(frame, preserve_index=not default_index).replace_schema_metadata(None)
    if len(set(dtypes)) == 1:
        # One dtype: the frame's values are one 2-D array, a view of its block, read a column at a time
        # (a Series per column costs 15 µs). NaN becomes null, as from_pandas makes it, where there is one.
        values = frame.to_numpy()
        with_nan = values.dtype.kind == "f" and bool((values != values).any())
        return pyarrow.table(
            {name: pyarrow.array(values[:, index], from_pandas=with_nan) for index, name in enumerate(frame.columns)}
        )
    return pyarrow.table({name: pyarrow.array(column.to_numpy(), from_pandas=True) for name, column in frame.items()})


def arrow_payload(value: object) -> tuple[pb.Encoding, bytes] | None:
    """The Arrow IPC stream of a record batch, table or dataframe, with its encoding; None for anything else.

    Raises TypeError when the value is a dataframe but pyarrow is missing, and Refused when it is one that
    Arrow cannot convert (a column of mixed types).
    """
    pyarrow = _loaded("pyarrow")
    if pyarrow is not None:
        if isinstance(value, pyarrow.RecordBatch):
            return pb.ENCODING_ARROW_RECORD_BATCH, _ipc_stream(pyarrow, value.schema, [value])
        if isinstance(value, pyarrow.Table):
            return pb.ENCODING_ARROW_TABLE, _ipc_stream(pyarrow, value.schema, value.to_batches())
    pandas = _loaded("pandas")
    if pandas is not None and isinstance(value, pandas.DataFrame):
        pyarrow = _pyarrow("pandas DataFrame")
        try:
            return arrow_payload(_pandas_table(pandas, pyarrow, value))
        except (pyarrow.ArrowException, ValueError, TypeError) as error:
            raise _cannot_convert(value, "pandas", error) from None
    polars = _loaded("polars")
    if polars is not None and isinstance(value, polars.DataFrame):
        pyarrow = _pyarrow("polars DataFrame")
        try:
            # The oldest compatibility level writes strings as large_string rather than the newer
            # string_view, which apache-arrow's JavaScript reader does not read.
            return arrow_payload(value.to_arrow(compat_level=polars.CompatLevel.oldest()))
        except (pyarrow.ArrowException, ValueError, TypeError) as error:
            raise _cannot_convert(value, "polars", error) from None
    return None


def _cannot_convert(frame: object, library: str, error: Exception) -> Refused:
    # pandas' own checks raise ValueError (duplicate column names), Arrow's ArrowException (mixed types, a
    # polars Int128 column): either way the frame cannot travel, which is the value's fault, not the tool's.
    return Refused(
        frame,
        Refusal(
            f"a {library} DataFrame that Arrow cannot convert ({error})",
            "give each column a unique name and values of one type Arrow has, or convert it with pyarrow yourself",
        ),
    )


def is_arrow(value: object) -> bool:
    """A record batch, table or dataframe (one arrow_payload turns into an IPC stream)."""
    pyarrow = _loaded("pyarrow")
    if pyarrow is not None and isinstance(value, (pyarrow.RecordBatch, pyarrow.Table)):
        return True
    pandas = _loaded("pandas")
    if pandas is not None and isinstance(value, pandas.DataFrame):
        return True
    polars = _loaded("polars")
    return polars is not None and isinstance(value, polars.DataFrame)
