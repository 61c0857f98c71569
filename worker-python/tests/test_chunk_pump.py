"""ChunkPump: runs a streaming tool ahead of the transport into a byte-bounded buffer."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import numpy as np
import pytest
import support
from sample_adapters import Opaque, TrainingDiverged
from snakepit_bridge.adapters.showcase.tool import StreamChunk
from snakepit_bridge.call_context import CallContext, current_call
from snakepit_bridge.chunk_pump import ChunkPump
from snakepit_bridge.errors import CallFailure
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.tracing import UntracedSpan
from snakepit_bridge.wire import ChunkBatchBuilder

CALL_ID = "call-7"
LARGE = 1 << 20

# A JSON text of exactly ten bytes, so that buffer arithmetic is easy to follow.
TEN_BYTES = "x" * 8
assert len(json.dumps(TEN_BYTES)) == 10


class Started:
    def __init__(self, pump: ChunkPump, context: CallContext) -> None:
        self.pump = pump
        self.context = context
        self.finished = threading.Event()
        self.finish_count = 0
        self.next_index = 0
        pump.on_finished(self._on_finished)

    def _on_finished(self) -> None:
        self.finish_count += 1
        self.finished.set()

    def take(self, max_bytes: int = LARGE) -> ChunkBatchBuilder | None:
        """The next batch, packed as the servicer packs it; None at the end."""
        batch = ChunkBatchBuilder(max_bytes, first_index=self.next_index)
        if not support.run_with_timeout(lambda: self.pump.take(batch.add)):
            return None
        self.next_index += len(batch)
        return batch

    def drain(self, max_bytes: int = LARGE) -> list[ChunkBatchBuilder]:
        batches = []
        while (batch := self.take(max_bytes)) is not None:
            batches.append(batch)
        return batches

    def wait_finished(self) -> None:
        assert self.finished.wait(support.TIMEOUT), "the pump did not finish"


StartPump = Callable[..., Started]


@pytest.fixture
def start_pump() -> Iterator[StartPump]:
    started: list[Started] = []

    def start(
        source: Callable[[], Any],
        *,
        max_buffered_bytes: int = LARGE,
        max_chunk_bytes: int = LARGE,
        admit: Callable[[], None] | None = None,
    ) -> Started:
        context = CallContext(call_id=CALL_ID, tool_name="tool", session_id="session")
        pump = ChunkPump(
            source, context, max_buffered_bytes=max_buffered_bytes, max_chunk_bytes=max_chunk_bytes, admit=admit
        )
        handle = Started(pump, context)
        started.append(handle)
        pump.start()
        return handle

    yield start
    support.release_all_probes()
    for handle in started:
        handle.pump.cancel()
        handle.wait_finished()


def values_of(batches: list[ChunkBatchBuilder]) -> list[Any]:
    values: list[Any] = []
    for batch in batches:
        values.extend(json.loads(text) for text in batch.json_items)
        values.extend(support.decode_chunk(chunk) for chunk in batch.chunks)
    return values


def all_chunks(batches: list[ChunkBatchBuilder]) -> list[pb.ToolChunk]:
    return [chunk for batch in batches for chunk in batch.chunks]


def wire_size(batch: ChunkBatchBuilder) -> int:
    return sum(len(item) for item in batch.json_items) + sum(chunk.wire_size for chunk in batch.chunks)


# --- order and batching ---------------------------------------------------------


def test_chunks_arrive_in_order_with_contiguous_indices(start_pump: StartPump) -> None:
    def mixed() -> Iterator[Any]:
        for i in range(300):
            if i % 7 == 0:
                yield StreamChunk(i, metadata={"i": str(i)})
            elif i % 11 == 0:
                yield str(i).encode()
            else:
                yield {"i": i}

    handle = start_pump(mixed)
    batches = handle.drain(max_bytes=64)

    expected = [i if i % 7 == 0 else str(i).encode() if i % 11 == 0 else {"i": i} for i in range(300)]
    assert values_of(batches) == expected
    index = 0
    for batch in batches:
        assert batch.first_index == index
        index += len(batch.json_items)
        for chunk in batch.chunks:
            assert chunk.chunk_id == f"{CALL_ID}-{index}"
            index += 1
    assert index == 300
    assert handle.pump.failure is None


def test_chunks_ready_at_take_leave_in_one_batch(start_pump: StartPump) -> None:
    handle = start_pump(lambda: ({"i": i} for i in range(100)))
    handle.wait_finished()

    batch = handle.take()

    assert batch is not None
    assert [json.loads(text) for text in batch.json_items] == [{"i": i} for i in range(100)]
    assert batch.chunks == []
    assert handle.take() is None


def test_a_run_still_growing_is_handed_over_as_far_as_it_goes(start_pump: StartPump, probe: support.Probe) -> None:
    # The taker does not wait for the run the tool appends to: it takes the chunks there so far, then the
    # later ones from the same run, with the binary values of each at their chunk.
    def tool() -> Iterator[dict[str, Any]]:
        yield {"i": 0}
        yield {"i": 1}
        probe.set("two yielded")
        assert probe.wait("release")
        yield {"i": 2, "weights": np.arange(3, dtype=np.float32)}
        yield {"i": 3}
        yield {"i": 4, "weights": np.arange(2, dtype=np.int8)}

    handle = start_pump(tool)
    assert probe.wait("two yielded")
    first = handle.take()
    probe.set("release")
    handle.wait_finished()
    second = handle.take()

    assert first is not None and second is not None
    assert first.json_items == [b'{"i":0}', b'{"i":1}'] and first.attachments == []
    assert second.first_index == 2 and handle.take() is None
    items = second.json_items
    assert [json.loads(item)["i"] for item in items] == [2, 3, 4]
    assert [attachment.chunk for attachment in second.attachments] == [0, 2]
    for attachment in second.attachments:
        assert attachment.placeholder.encode() in items[attachment.chunk].replace(b"\\u0000", b"\0")
    assert [bytes(a.payload.data) for a in second.attachments] == [
        np.arange(3, dtype=np.float32).tobytes(),
        np.arange(2, dtype=np.int8).tobytes(),
    ]


def test_a_dict_changed_after_its_yield_arrives_as_it_was_yielded(start_pump: StartPump) -> None:
    # Chunks are encoded at their yield, not when their batch leaves: a tool may yield the same dict again.
    def reuses() -> Iterator[dict[str, Any]]:
        state: dict[str, Any] = {"epoch": 0, "history": []}
        for epoch in range(50):
            state["epoch"] = epoch
            state["history"].append(epoch)
            yield state

    handle = start_pump(reuses)
    handle.wait_finished()

    assert values_of(handle.drain()) == [{"epoch": e, "history": list(range(e + 1))} for e in range(50)]


def test_plain_chunks_are_json_items_and_special_chunks_follow_them(start_pump: StartPump) -> None:
    handle = start_pump(lambda: iter([1, 2, StreamChunk(3, metadata={"m": "v"}), b"4", 5]))
    handle.wait_finished()

    first, second = handle.take(), handle.take()

    assert first is not None and second is not None
    assert first.json_items == [b"1", b"2"]
    assert [support.decode_chunk(chunk) for chunk in first.chunks] == [3, b"4"]
    assert dict(first.chunks[0].metadata) == {"m": "v"}
    # A plain chunk after a special one starts the next batch: json_run always comes first.
    assert second.first_index == 4 and second.json_items == [b"5"] and second.chunks == []
    assert handle.take() is None


def test_take_respects_max_bytes(start_pump: StartPump) -> None:
    handle = start_pump(lambda: (TEN_BYTES for _ in range(50)))
    handle.wait_finished()

    batches = handle.drain(max_bytes=35)

    assert [len(batch.json_items) for batch in batches] == [3] * 16 + [2]
    assert all(wire_size(batch) <= 35 for batch in batches)


def test_take_counts_bytes_not_characters(start_pump: StartPump) -> None:
    # '"éééé"' is 6 characters but 10 bytes of UTF-8.
    handle = start_pump(lambda: ("éééé" for _ in range(12)))
    handle.wait_finished()

    batches = handle.drain(max_bytes=35)

    assert values_of(batches) == ["éééé"] * 12
    assert all(wire_size(batch) <= 35 for batch in batches)


def test_take_respects_max_bytes_for_special_chunks(start_pump: StartPump) -> None:
    handle = start_pump(lambda: (bytes(20) for _ in range(10)))
    handle.wait_finished()

    batches = handle.drain(max_bytes=100)

    assert sum(len(batch.chunks) for batch in batches) == 10
    assert len(batches) > 1
    assert all(wire_size(batch) <= 100 for batch in batches)


def test_a_chunk_larger_than_max_bytes_leaves_alone(start_pump: StartPump) -> None:
    handle = start_pump(lambda: iter(["a", "b" * 100, "c"]))
    handle.wait_finished()

    batches = handle.drain(max_bytes=20)

    assert [values_of([batch]) for batch in batches] == [["a"], ["b" * 100], ["c"]]


# --- the final marker -------------------------------------------------------------


def test_final_chunk_ends_the_stream_and_closes_the_generator(start_pump: StartPump, probe: support.Probe) -> None:
    def tool() -> Iterator[Any]:
        try:
            yield 1
            yield StreamChunk(2, is_final=True, metadata={"epochs": "3"})
            probe.set("resumed after final")
            yield 3
        finally:
            probe.set("closed")

    handle = start_pump(tool)
    batches = handle.drain()

    assert values_of(batches) == [1, 2]
    final = all_chunks(batches)[-1]
    assert final.is_final is True
    assert dict(final.metadata) == {"epochs": "3"}
    # take() ends only after the pump finished, and the pump finishes only after closing the generator.
    assert probe.is_set("closed")
    assert not probe.is_set("resumed after final")
    assert handle.pump.failure is None
    handle.wait_finished()
    assert handle.finish_count == 1


def test_a_dataframe_with_columns_named_data_and_is_final_is_data_not_a_chunk_wrapper(start_pump: StartPump) -> None:
    import pandas as pd

    frame = pd.DataFrame({"data": [1, 2], "is_final": [False, True]})
    handle = start_pump(lambda: iter([frame]))
    handle.drain()

    assert handle.pump.failure is None


def test_final_chunk_without_metadata_is_still_marked(start_pump: StartPump) -> None:
    handle = start_pump(lambda: iter([StreamChunk("only", is_final=True)]))

    batches = handle.drain()

    assert [chunk.is_final for chunk in all_chunks(batches)] == [True]
    assert all(not batch.json_items for batch in batches)


# --- failures ---------------------------------------------------------------------


def test_exception_after_chunks_fails_after_every_chunk(start_pump: StartPump) -> None:
    def diverging() -> Iterator[dict[str, int]]:
        for seq in range(20):
            yield {"seq": seq}
        raise TrainingDiverged("loss is nan")

    # A small buffer keeps the producer behind the consumer, so the failure comes while chunks are pending.
    handle = start_pump(diverging, max_buffered_bytes=16)
    batches = handle.drain(max_bytes=1)

    assert values_of(batches) == [{"seq": seq} for seq in range(20)]
    failure = handle.pump.failure
    assert failure is not None
    assert failure.code == "python_error"
    assert failure.message == "loss is nan"
    assert failure.python_type == "sample_adapters.TrainingDiverged"
    assert "TrainingDiverged: loss is nan" in failure.python_traceback
    assert "in diverging" in failure.python_traceback


def test_exception_when_the_tool_is_called(start_pump: StartPump) -> None:
    def refuses() -> Any:
        raise ValueError("bad configuration")

    handle = start_pump(refuses)

    assert handle.drain() == []
    assert handle.pump.failure is not None
    assert handle.pump.failure.python_type == "ValueError"
    assert handle.pump.failure.message == "bad configuration"


def test_admit_runs_on_the_pump_thread_before_the_tool(start_pump: StartPump) -> None:
    events: list[tuple[str, threading.Thread]] = []

    def tool() -> Iterator[int]:
        events.append(("tool", threading.current_thread()))
        yield 1

    handle = start_pump(tool, admit=lambda: events.append(("admit", threading.current_thread())))

    assert values_of(handle.drain()) == [1]
    assert [name for name, _ in events] == ["admit", "tool"]
    assert events[0][1] is events[1][1] is not threading.current_thread()


def test_a_tool_whose_admission_fails_never_runs(start_pump: StartPump) -> None:
    ran = threading.Event()

    def tool() -> Iterator[int]:
        ran.set()
        yield 1

    def refuse() -> None:
        raise CallFailure(code="cancelled", message="the call was cancelled before it arrived")

    handle = start_pump(tool, admit=refuse)

    assert handle.drain() == []
    assert handle.pump.failure is not None
    assert handle.pump.failure.code == "cancelled"
    assert not ran.is_set()


def test_unencodable_chunk_fails_after_earlier_chunks_and_closes_the_generator(
    start_pump: StartPump, probe: support.Probe
) -> None:
    def tool() -> Iterator[Any]:
        try:
            yield 1
            yield {"model": Opaque()}
            yield 3
        finally:
            probe.set("closed")

    handle = start_pump(tool)
    batches = handle.drain()

    assert values_of(batches) == [1]
    assert handle.pump.failure is not None
    assert handle.pump.failure.code == "serialization_error"
    assert "Opaque" in handle.pump.failure.message
    assert probe.is_set("closed")


def test_exception_in_finally_after_final_chunk_is_reported(start_pump: StartPump) -> None:
    def tool() -> Iterator[Any]:
        try:
            yield StreamChunk("done", is_final=True)
        finally:
            raise OSError("could not release the GPU")

    handle = start_pump(tool)
    batches = handle.drain()

    assert values_of(batches) == ["done"]
    assert handle.pump.failure is not None
    assert handle.pump.failure.python_type == "OSError"


@pytest.mark.parametrize(
    ("value", "size_in_message"),
    [("x" * 200, 202), (bytes(200), None), ("é" * 60, 122)],
    ids=["json", "bytes", "utf8"],
)
def test_chunk_over_the_size_limit_fails_with_chunk_too_large(
    start_pump: StartPump, value: Any, size_in_message: int | None
) -> None:
    handle = start_pump(lambda: iter(["small", value, "never sent"]), max_chunk_bytes=100)
    batches = handle.drain()

    assert values_of(batches) == ["small"]
    failure = handle.pump.failure
    assert failure is not None
    assert failure.code == "chunk_too_large"
    assert "chunk 1" in failure.message and "100-byte" in failure.message
    if size_in_message is not None:
        assert f"{size_in_message} bytes" in failure.message


def test_chunk_just_under_the_size_limit_passes(start_pump: StartPump) -> None:
    handle = start_pump(lambda: iter(["x" * 98]), max_chunk_bytes=100)

    assert values_of(handle.drain()) == ["x" * 98]
    assert handle.pump.failure is None


# --- cancellation and bounded memory ---------------------------------------------


def test_cancel_closes_the_generator_at_its_next_yield(start_pump: StartPump, probe: support.Probe) -> None:
    def tool() -> Iterator[int]:
        try:
            yield 0
            probe.set("working")
            probe.wait("release")
            yield 1
            probe.set("resumed after cancel")
            yield 2
        finally:
            probe.set("closed")

    handle = start_pump(tool)
    assert values_of([handle.take()]) == [0]
    assert probe.wait("working")

    handle.pump.cancel()
    assert handle.context.cancelled()
    probe.set("release")

    assert probe.wait("closed")
    handle.wait_finished()
    assert not probe.is_set("resumed after cancel")
    assert handle.drain() == [], "a chunk yielded after cancellation is dropped"
    assert handle.pump.failure is None, "cancellation is not a failure"


def test_cancel_while_the_buffer_is_full_closes_the_generator(start_pump: StartPump, probe: support.Probe) -> None:
    def tool() -> Iterator[int]:
        try:
            for seq in itertools.count():
                if seq == 1:
                    probe.set("yielding into a full buffer")
                yield seq
                if seq == 1:
                    probe.set("resumed after cancel")
        finally:
            probe.set("closed")

    # One byte: chunk 0 fills the buffer, so the pump waits with the generator at `yield 1`.
    handle = start_pump(tool, max_buffered_bytes=1)
    assert probe.wait("yielding into a full buffer")

    handle.pump.cancel()

    assert probe.wait("closed")
    handle.wait_finished()
    assert not probe.is_set("resumed after cancel")
    assert handle.pump.failure is None


def test_cancel_before_start_streams_nothing() -> None:
    def tool() -> Iterator[int]:
        yield 1

    context = CallContext(call_id=CALL_ID, tool_name="tool", session_id="")
    pump = ChunkPump(tool, context, max_buffered_bytes=LARGE, max_chunk_bytes=LARGE)
    handle = Started(pump, context)
    pump.cancel()
    pump.start()

    handle.wait_finished()
    assert handle.drain() == []
    assert pump.failure is None


class SpanRaisingAtEnd(UntracedSpan):
    def end(self, failure: CallFailure | None, *, cancelled: bool, chunks: int | None) -> None:
        raise RuntimeError("processor bug")


def test_the_pump_finishes_even_when_its_span_raises_as_it_ends() -> None:
    context = CallContext(call_id=CALL_ID, tool_name="tool", session_id="")
    context.span = SpanRaisingAtEnd()
    pump = ChunkPump(lambda: iter([1, 2]), context, max_buffered_bytes=LARGE, max_chunk_bytes=LARGE)
    handle = Started(pump, context)
    pump.start()

    assert values_of(handle.drain()) == [1, 2]
    handle.wait_finished()
    assert pump.failure is None


def test_producer_waits_at_yield_while_the_buffer_is_full(start_pump: StartPump, probe: support.Probe) -> None:
    produced: list[int] = []

    def tool() -> Iterator[str]:
        for seq in itertools.count():
            produced.append(seq)
            probe.set(f"producing {seq}")
            yield TEN_BYTES

    # Ten chunks of ten bytes fill the buffer; the pump holds the eleventh at its yield.
    handle = start_pump(tool, max_buffered_bytes=100)
    assert probe.wait("producing 10")
    assert not probe.wait("producing 11", timeout=0.3), "the producer ran past a full buffer"
    assert produced == list(range(11))

    batch = handle.take(max_bytes=10)

    assert batch is not None and len(batch.json_items) == 1
    assert probe.wait("producing 11"), "taking a chunk makes room for the next"
    assert not probe.wait("producing 12", timeout=0.3)
    assert produced == list(range(12))


# --- non-generator streaming tools ---------------------------------------------------


def test_streaming_tool_returning_a_list_streams_its_items(start_pump: StartPump) -> None:
    handle = start_pump(lambda: [1, {"a": 2}, b"three", [4]])

    assert values_of(handle.drain()) == [1, {"a": 2}, b"three", [4]]
    assert handle.pump.failure is None


@pytest.mark.parametrize(
    "value",
    [7, 1.5, True, None, "text", {"a": [1, 2]}, b"raw", np.arange(3, dtype=np.int32)],
    ids=["int", "float", "bool", "none", "str", "dict", "bytes", "ndarray"],
)
def test_streaming_tool_returning_a_single_value_streams_one_chunk(start_pump: StartPump, value: Any) -> None:
    handle = start_pump(lambda: value)

    values = values_of(handle.drain())

    assert handle.pump.failure is None
    expected = value.tolist() if isinstance(value, np.ndarray) else value
    assert values == [expected]


def test_streaming_tool_returning_a_stream_chunk_streams_it(start_pump: StartPump) -> None:
    handle = start_pump(lambda: StreamChunk({"done": True}, is_final=True, metadata={"k": "v"}))

    chunks = all_chunks(handle.drain())

    assert [(support.decode_chunk(c), c.is_final, dict(c.metadata)) for c in chunks] == [
        ({"done": True}, True, {"k": "v"})
    ]


# --- async generators ---------------------------------------------------------------


def test_async_generator_chunks_arrive_in_order_and_final_closes_it(
    start_pump: StartPump, probe: support.Probe
) -> None:
    async def tool() -> AsyncIterator[Any]:
        try:
            for seq in range(10):
                await asyncio.sleep(0)
                yield {"seq": seq}
            yield StreamChunk("last", is_final=True)
            probe.set("resumed after final")
        finally:
            probe.set("closed")

    handle = start_pump(tool)
    batches = handle.drain()

    assert values_of(batches) == [{"seq": seq} for seq in range(10)] + ["last"]
    assert all_chunks(batches)[-1].is_final
    assert probe.is_set("closed")
    assert not probe.is_set("resumed after final")


def test_async_generator_exception_after_chunks(start_pump: StartPump) -> None:
    async def tool() -> AsyncIterator[int]:
        yield 1
        await asyncio.sleep(0)
        yield 2
        raise TrainingDiverged("async divergence")

    handle = start_pump(tool)

    assert values_of(handle.drain()) == [1, 2]
    failure = handle.pump.failure
    assert failure is not None
    assert failure.python_type == "sample_adapters.TrainingDiverged"
    assert "async divergence" in failure.python_traceback


def test_cancelling_an_async_generator_awaiting_sleep_runs_its_finally_before_the_pump_finishes(
    start_pump: StartPump, probe: support.Probe
) -> None:
    async def tool() -> AsyncIterator[int]:
        try:
            yield 0
            probe.set("sleeping")
            await asyncio.sleep(3600)
            yield 1
        except asyncio.CancelledError:
            probe.set("cancelled at await")
            raise
        finally:
            # A real tool releases something here, which may itself take a moment.
            await asyncio.sleep(0.05)
            probe.set("closed")

    handle = start_pump(tool)
    assert values_of([handle.take()]) == [0]
    assert probe.wait("sleeping")

    handle.pump.cancel()

    assert handle.take() is None
    # on_finished (which lets a stopping worker exit) must not come before the tool's finally.
    assert handle.finished.is_set()
    assert probe.is_set("closed"), "the pump finished before the async generator's finally ran"
    assert probe.is_set("cancelled at await")
    assert handle.pump.failure is None


def test_an_async_generator_resumed_after_the_cancel_but_before_its_tasks_cancel_still_runs_its_finally(
    start_pump: StartPump,
) -> None:
    cancel_returned = threading.Event()
    closed = threading.Event()

    async def tool() -> AsyncIterator[int]:
        try:
            yield 0
            # Holds the loop until cancel() has returned: the task's cancel, queued on the loop, arrives only
            # after the next yield, which the pump takes as cancelled.
            cancel_returned.wait()
            yield 1
        finally:
            await asyncio.sleep(0.01)
            closed.set()

    handle = start_pump(tool)
    assert values_of([handle.take()]) == [0]

    handle.pump.cancel()
    cancel_returned.set()

    handle.wait_finished()
    assert closed.is_set(), "the task's cancel interrupted the generator's finally"
    assert handle.pump.failure is None


def test_an_async_generator_that_absorbs_its_cancel_and_yields_again_is_closed_at_that_yield(
    start_pump: StartPump, probe: support.Probe
) -> None:
    async def tool() -> AsyncIterator[int]:
        try:
            yield 0
            await current_call().wait_cancelled()
            probe.set("absorbed")
            yield 1
            probe.set("resumed after its cancel")
        finally:
            await asyncio.sleep(0.01)
            probe.set("closed")

    handle = start_pump(tool)
    assert values_of([handle.take()]) == [0]

    handle.pump.cancel()

    handle.wait_finished()
    assert probe.is_set("absorbed") and probe.is_set("closed")
    assert not probe.is_set("resumed after its cancel")
    assert handle.pump.failure is None


def test_cancelling_an_async_generator_while_the_buffer_is_full(start_pump: StartPump, probe: support.Probe) -> None:
    async def tool() -> AsyncIterator[int]:
        try:
            for seq in itertools.count():
                if seq == 1:
                    probe.set("yielding into a full buffer")
                yield seq
                if seq == 1:
                    probe.set("resumed after cancel")
        finally:
            probe.set("closed")

    handle = start_pump(tool, max_buffered_bytes=1)
    assert probe.wait("yielding into a full buffer")

    handle.pump.cancel()

    handle.wait_finished()
    assert probe.is_set("closed")
    assert not probe.is_set("resumed after cancel")
    assert handle.pump.failure is None


def test_async_producer_waits_while_the_buffer_is_full(start_pump: StartPump, probe: support.Probe) -> None:
    async def tool() -> AsyncIterator[str]:
        for seq in itertools.count():
            probe.set(f"producing {seq}")
            yield TEN_BYTES

    handle = start_pump(tool, max_buffered_bytes=100)
    assert probe.wait("producing 10")
    assert not probe.wait("producing 11", timeout=0.3), "the producer ran past a full buffer"

    assert handle.take(max_bytes=10) is not None
    assert probe.wait("producing 11")


def test_async_tool_returning_a_list(start_pump: StartPump) -> None:
    async def tool() -> list[int]:
        await asyncio.sleep(0)
        return [1, 2, 3]

    handle = start_pump(tool)

    assert values_of(handle.drain()) == [1, 2, 3]


def test_async_tool_returning_a_single_value(start_pump: StartPump) -> None:
    async def tool() -> int:
        return 42

    handle = start_pump(tool)

    assert values_of(handle.drain()) == [42]
    assert handle.pump.failure is None
