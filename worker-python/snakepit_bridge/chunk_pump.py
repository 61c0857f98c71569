"""Runs a streaming tool ahead of the transport, into a bounded buffer.

grpcio sends one message at a time and waits for each send; pulling one item
per message caps a stream at a few ten thousand chunks a second. The pump
runs the tool in its own thread (or, for async tools, on the worker's loop)
so that each message can take every chunk that is ready. The buffer is
bounded in bytes: when the client reads slowly, sends block, the buffer
fills, and the tool waits at its ``yield``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping

from snakepit_bridge.call_context import CallContext
from snakepit_bridge.encoding import EncodedValue, encode_binary, encode_value, is_ndarray, plain_json
from snakepit_bridge.errors import CallFailure, from_exception
from snakepit_bridge.event_loop import LoopCall
from snakepit_bridge.stream_chunk import StreamChunk
from snakepit_bridge.thread_pool import DaemonThreadPool
from snakepit_bridge.wire import Item, JsonRun, OutgoingChunk, attachments_size

logger = logging.getLogger(__name__)

_NOT_ITERATED = (str, bytes, bytearray, memoryview, dict, StreamChunk)
# What a tool yields most often: never a chunk wrapper, so the duck-typing below is skipped for them.
_PLAIN_VALUES = (dict, list, str, int, float, bool, bytes, type(None))
_MISSING = object()
# Each call's tool runs on a thread of its own, reused from call to call (thread_pool.py says why).
_PUMP_THREADS = DaemonThreadPool("pump")
_FAST_TYPES = frozenset({dict, list})
# What encoding a chunk gives: a plain chunk's JSON (with its attachments, if any), or another chunk.
_Produced = bytes | EncodedValue | OutgoingChunk


def _unwrap(value: object) -> tuple[object, bool, Mapping[str, str] | None] | None:
    """(data, is_final, metadata) of a chunk wrapper: any object with ``data`` and a bool ``is_final``, such
    as Snakepit's own showcase StreamChunk; None for a plain value (a DataFrame whose columns are named so is
    one: its columns are attributes too)."""
    is_final = getattr(value, "is_final", _MISSING)
    if not isinstance(is_final, bool) or not hasattr(value, "data"):
        return None
    metadata = getattr(value, "metadata", None)
    if metadata is not None and not (
        isinstance(metadata, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise CallFailure(
            code="serialization_error",
            message=f"the metadata of a {type(value).__qualname__} chunk must map str to str, got {metadata!r}",
        )
    return value.data, is_final, metadata


class ChunkPump:
    def __init__(
        self,
        start: Callable[[], object],
        context: CallContext,
        *,
        max_buffered_bytes: int,
        max_chunk_bytes: int,
        max_run_bytes: int = 64 * 1024,
        condition: threading.Condition | None = None,
        admit: Callable[[], None] | None = None,
    ) -> None:
        """``condition``: the one ``take`` waits on, when something else must wake it too (see ``take``).
        ``max_run_bytes``: how large a run of plain chunks grows before the next starts (keep it under a batch's size).
        ``admit``: runs on the pump's thread before the tool, which does not run if it raises. The thread is
        woken while ``admit`` waits (for the call's acknowledgment to leave): it costs a first chunk tens of
        microseconds."""
        self._start = start
        self._admit = admit
        self._context = context
        self._max_buffered_bytes = max_buffered_bytes
        self._max_chunk_bytes = max_chunk_bytes
        self._max_run_bytes = max_run_bytes
        self._condition = condition or threading.Condition()
        # The buffer: JsonRuns and OutgoingChunks, appended by the producer, taken from the left by the
        # taker, without a lock (a lock per chunk cost a fifth of a small chunk's time in the worker). Under
        # the GIL, each deque and bytearray operation below is atomic, and each thread sees the other's in
        # order. Only the last JsonRun, the open one, still grows: the producer publishes a chunk in it by
        # appending to its ``ends`` (its JSON is in ``text`` first), and the taker hands over the chunks the
        # ends show, as a copy, counting them in ``_head_taken``. A run the producer left (it is no longer
        # ``_open_run``) is complete: it is handed over itself, and removed once all of it was.
        self._items: deque[JsonRun | OutgoingChunk] = deque()
        self._open_run: JsonRun | None = None
        self._head_taken = 0
        # The bytes that went into the buffer and out of it: each count is written by one thread only
        # (the producer's, the taker's); the buffer is empty when they are equal.
        self._put_bytes = 0
        self._taken_bytes = 0
        # Set under the condition by a side about to wait on it: the other side notifies only then.
        self._taker_waiting = False
        self._producer_waiting = False
        self._produced = 0
        self._finished = False
        self._cancelled = False
        self._async_call: LoopCall[None] | None = None
        self._space_waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        self._finished_callbacks: list[Callable[[], None]] = []
        self.failure: CallFailure | None = None

    def on_finished(self, callback: Callable[[], None]) -> None:
        """Calls back once the tool has returned, raised or been closed."""
        self._finished_callbacks.append(callback)

    def start(self) -> None:
        _PUMP_THREADS.submit(self._run)

    def cancel(self) -> None:
        """Stops the tool at its next yield (or await, for async tools) and closes it."""
        with self._condition:
            self._cancelled = True
            self._condition.notify_all()
            self._wake_space_waiter()
        # Then the tool hears of it (and an async tool's task is cancelled): a tool that the cancel wakes
        # reaches its next yield with the pump cancelled already.
        self._context.cancel()

    def take(self, accept: Callable[[Item, int], bool], interrupt: Callable[[], bool] | None = None) -> bool:
        """Blocks until chunks are ready, then hands them over in order, each with its size in
        bytes, while ``accept`` takes them (a ChunkBatchBuilder's ``add``); returns False at the end.

        With ``interrupt``, returns as well (True, having handed nothing over) once it holds; it is
        checked under the pump's condition, which whoever makes it hold must notify."""
        if self._put_bytes == self._taken_bytes:
            with self._condition:
                while (
                    self._put_bytes == self._taken_bytes
                    and not self._finished
                    and not (interrupt is not None and interrupt())
                ):
                    self._taker_waiting = True
                    self._condition.wait()
                self._taker_waiting = False
                if self._put_bytes == self._taken_bytes:
                    return not self._finished
        items = self._items
        taken_bytes = 0
        while items:
            item = items[0]
            if isinstance(item, OutgoingChunk):
                size = item.wire_size
                if not accept(item, size):
                    break
                items.popleft()
                taken_bytes += size
                continue
            # Whether the producer left the run, read before its length: if it did, that length is final.
            complete = item is not self._open_run
            first = self._head_taken
            count = len(item.ends)
            if first == count:
                if not complete:
                    break
                items.popleft()
                self._head_taken = 0
                continue
            # A batch that takes part of a run splits it: a complete run untouched so far keeps the rest itself.
            part = item if complete and first == 0 else item.part(first, count)
            offered = len(part)
            size = part.size
            accepted = accept(part, size)
            taken_bytes += size if accepted else size - part.size
            if part is item:
                if accepted:
                    items.popleft()
            else:
                self._head_taken = first + (offered if accepted else offered - len(part))
            if not accepted:
                break
        self._taken_bytes += taken_bytes
        if self._producer_waiting or self._space_waiter is not None:
            with self._condition:
                self._condition.notify_all()
                self._wake_space_waiter()
        return True

    def _wake_space_waiter(self) -> None:
        if self._space_waiter is not None:
            loop, future = self._space_waiter
            self._space_waiter = None
            loop.call_soon_threadsafe(_settle, future)

    def _has_room(self, size: int) -> bool:
        # An item larger than the whole buffer still goes through once the buffer is empty.
        buffered = self._put_bytes - self._taken_bytes
        return buffered == 0 or buffered + size <= self._max_buffered_bytes

    def _append(self, item: _Produced, size: int) -> None:
        """Adds an item (producer side); wakes the taker if it waits. The taker checks for items after it
        says it waits, and this checks whether it waits after adding: one of them sees the other."""
        if isinstance(item, OutgoingChunk):
            self._open_run = None
            self._items.append(item)
        else:
            run = self._open_run
            # A run stays under a batch's size, so that a batch takes whole runs.
            if run is None or (run.ends and len(run.text) + size > self._max_run_bytes):
                run = self._open_run = JsonRun()
                self._items.append(run)
            if isinstance(item, EncodedValue):
                run.add(item.json, item.attachments)
            else:
                run.add(item)
        self._put_bytes += size
        if self._taker_waiting:
            self._wake_taker()

    def _append_json(self, encoded: bytes, size: int) -> bool:
        """``_append`` of a plain chunk's JSON without attachments, the usual chunk, in fewer steps, if the
        buffer has room for it; False (having added nothing) if it has not."""
        buffered = self._put_bytes - self._taken_bytes
        if buffered and buffered + size > self._max_buffered_bytes:
            return False
        run = self._open_run
        if run is None or len(run.text) + size > self._max_run_bytes:
            run = self._open_run = JsonRun()
            self._items.append(run)
        text = run.text
        if text:  # JSON text is never empty: an empty run has no chunk yet
            text.append(0x2C)
        text += encoded
        run.ends.append(len(text))
        self._put_bytes += size
        if self._taker_waiting:
            self._wake_taker()
        return True

    def _wake_taker(self) -> None:
        # Once: the taker may not run at once (it needs the GIL), and chunks keep coming meanwhile.
        with self._condition:
            self._taker_waiting = False
            self._condition.notify_all()

    def _put(self, item: _Produced, size: int) -> bool:
        if not self._has_room(size):
            with self._condition:
                self._producer_waiting = True
                while not self._cancelled and not self._has_room(size):
                    self._condition.wait()
                self._producer_waiting = False
        if self._cancelled:
            return False
        self._append(item, size)
        return True

    async def _put_async(self, item: _Produced, size: int) -> bool:
        loop = asyncio.get_running_loop()
        while not self._cancelled and not self._has_room(size):
            future: asyncio.Future[None] = loop.create_future()
            with self._condition:
                self._space_waiter = (loop, future)
            # Checked again once the taker can see the waiter (as in _append), then waited for.
            if self._cancelled or self._has_room(size):
                with self._condition:
                    self._space_waiter = None
                break
            await future
        if self._cancelled:
            run = self._async_call
            if run is None or not run.cancel_delivered:
                # cancel() cancels the task as well, once (LoopCall.cancel): awaited here, it ends the pump
                # rather than interrupting an `await` in the finally of the generator that the pump closes.
                await loop.create_future()
            # Delivered, and absorbed by the tool (wait_cancelled, or an except): it is closed here.
            return False
        self._append(item, size)
        return True

    def _encode(self, value: object) -> tuple[_Produced, int, bool]:
        index = self._produced
        self._produced += 1
        data: object
        metadata: Mapping[str, str] | None
        if isinstance(value, StreamChunk):
            data, is_final, metadata = value.data, value.is_final, value.metadata
        elif isinstance(value, _PLAIN_VALUES) or (wrapped := _unwrap(value)) is None:
            data, is_final, metadata = value, False, None
        else:
            data, is_final, metadata = wrapped
        binary = encode_binary(data, "chunk", index)
        if binary is None:
            value = encode_value(data, "chunk", index)
            if not is_final and not metadata:
                if not value.attachments:
                    self._check_size(index, len(value.json))
                    return value.json, len(value.json), False
                size = len(value.json) + attachments_size(value.attachments)
                self._check_size(index, size)
                return value, size, False
            chunk = OutgoingChunk(
                self._chunk_id(index), value.json, is_final=is_final, metadata=metadata, attachments=value.attachments
            )
        else:
            chunk = OutgoingChunk(
                self._chunk_id(index),
                binary.data,
                binary.encoding,
                is_final=is_final,
                metadata=metadata,
                dtype=binary.dtype,
                shape=binary.shape,
            )
        size = chunk.wire_size
        self._check_size(index, size)
        return chunk, size, is_final

    def _chunk_id(self, index: int) -> str:
        return f"{self._context.call_id}-{index}"

    def _check_size(self, index: int, size: int) -> None:
        if size > self._max_chunk_bytes:
            raise CallFailure(
                code="chunk_too_large",
                message=f"chunk {index} is {size} bytes, over the {self._max_chunk_bytes}-byte message limit",
                hint="yield smaller chunks, or raise the pool's maxMessageBytes",
            )

    def _run(self) -> None:
        self._context.activate()
        iterator: Iterator[object] | None = None
        try:
            if self._admit is not None:
                self._admit()
            source = self._start()
            if inspect.isawaitable(source) or isinstance(source, AsyncIterator):
                self._run_async(source)
                return
            iterator = _chunks_of(source)
            max_chunk_bytes = self._max_chunk_bytes
            append_json = self._append_json
            for value in iterator:
                # The usual chunk, a dict or list of plain values, inline: at a million chunks a
                # second, each function call and attribute lookup on its way counts.
                if type(value) in _FAST_TYPES and (encoded := plain_json(value)) is not None:
                    size = len(encoded)
                    if size > max_chunk_bytes:
                        self._check_size(self._produced, size)
                    self._produced += 1
                    if self._cancelled:
                        break
                    if not append_json(encoded, size) and not self._put(encoded, size):
                        break
                    continue
                item, size, is_final = self._encode(value)
                if not self._put(item, size) or is_final:
                    break
        except BaseException as error:
            self._fail(error)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                self._close(close)
            self._finish()

    def _run_async(self, source: Awaitable[object] | AsyncIterator[object]) -> None:
        async def pump() -> None:
            self._context.activate()
            iterable = await source if inspect.isawaitable(source) else source
            if not isinstance(iterable, AsyncIterator):
                iterable = _as_async(_chunks_of(iterable))
            try:
                async for value in iterable:
                    item, size, is_final = self._encode(value)
                    if not await self._put_async(item, size) or is_final:
                        break
            finally:
                aclose = getattr(iterable, "aclose", None)
                if aclose is not None:
                    await aclose()

        # A LoopCall, not run_coroutine_threadsafe: after a cancel, the pump must not finish (and let
        # a stopping worker exit, or AwaitCall report the call ended) before the generator's finally ran.
        run = LoopCall(pump())
        with self._condition:
            self._async_call = run
        self._context.cancels_task(run.cancel)
        with contextlib.suppress(concurrent.futures.CancelledError):
            run.result()

    def _close(self, close: Callable[[], object]) -> None:
        try:
            close()
        except Exception as error:
            if self.failure is None and not self._cancelled:
                self._fail(error)
            else:
                logger.warning("tool %s raised while closing: %r", self._context.tool_name, error)

    def _fail(self, error: BaseException) -> None:
        if self._cancelled:
            logger.debug("tool %s ended after cancellation: %r", self._context.tool_name, error)
            return
        self.failure = from_exception(error)

    def _finish(self) -> None:
        try:
            # Before the stream ends, so that the span is over when the client hears the outcome.
            self._context.span.end(self.failure, cancelled=self._cancelled, chunks=self._produced)
        finally:
            # Whatever the span does: else the taker would wait for good, and the worker admit no other call.
            with self._condition:
                self._finished = True
                self._condition.notify_all()
            for callback in self._finished_callbacks:
                callback()


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _chunks_of(result: object) -> Iterator[object]:
    """The chunks of what a streaming tool returned: the items of an iterable, or the value itself.

    An array is one chunk, not one per row; a scalar or None (a tool that returns instead of
    yielding) is one chunk too, rather than a TypeError about iteration.
    """
    if isinstance(result, _NOT_ITERATED) or is_ndarray(result) or not isinstance(result, Iterable):
        return iter((result,))
    return iter(result)


async def _as_async(values: Iterator[object]) -> AsyncIterator[object]:
    for value in values:
        yield value
