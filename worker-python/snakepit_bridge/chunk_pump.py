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
import inspect
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Union

from snakepit_bridge.adapters.showcase.tool import StreamChunk
from snakepit_bridge.call_context import CallContext
from snakepit_bridge.encoding import encode_binary, encode_json
from snakepit_bridge.errors import CallFailure, from_exception
from snakepit_bridge.event_loop import worker_loop
from snakepit_bridge.proto import bridge_pb2 as pb

logger = logging.getLogger(__name__)

# A plain chunk (JSON, not final, no metadata) is buffered as its JSON text; any other as a ToolChunk.
Item = Union[str, pb.ToolChunk]

_NOT_ITERATED = (str, bytes, bytearray, memoryview, dict, StreamChunk)


@dataclass
class Batch:
    first_index: int
    json_texts: list[str]
    chunks: list[pb.ToolChunk]


class ChunkPump:
    def __init__(
        self,
        start: Callable[[], Any],
        context: CallContext,
        *,
        max_buffered_bytes: int,
        max_chunk_bytes: int,
    ) -> None:
        self._start = start
        self._context = context
        self._max_buffered_bytes = max_buffered_bytes
        self._max_chunk_bytes = max_chunk_bytes
        self._condition = threading.Condition()
        self._items: deque[tuple[Item, int]] = deque()
        self._buffered_bytes = 0
        self._produced = 0
        self._taken = 0
        self._finished = False
        self._cancelled = False
        self._async_run: concurrent.futures.Future[None] | None = None
        self._space_waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        self._finished_callbacks: list[Callable[[], None]] = []
        self.failure: CallFailure | None = None

    def on_finished(self, callback: Callable[[], None]) -> None:
        """Calls back once the tool has returned, raised or been closed."""
        self._finished_callbacks.append(callback)

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"pump-{self._context.call_id}", daemon=True).start()

    def cancel(self) -> None:
        """Stops the tool at its next yield (or await, for async tools) and closes it."""
        self._context.cancel()
        with self._condition:
            self._cancelled = True
            self._condition.notify_all()
            async_run = self._async_run
            self._wake_space_waiter()
        if async_run is not None:
            async_run.cancel()

    def take(self, max_bytes: int) -> Batch | None:
        """Blocks until chunks are ready; returns those that fit in max_bytes, or None at the end."""
        with self._condition:
            while not self._items and not self._finished:
                self._condition.wait()
            if not self._items:
                return None
            batch = Batch(first_index=self._taken, json_texts=[], chunks=[])
            size = 0
            while self._items:
                item, item_size = self._items[0]
                if size and size + item_size > max_bytes:
                    break
                if isinstance(item, str):
                    if batch.chunks:
                        break
                    batch.json_texts.append(item)
                else:
                    batch.chunks.append(item)
                self._items.popleft()
                size += item_size
            self._taken += len(batch.json_texts) + len(batch.chunks)
            self._buffered_bytes -= size
            self._condition.notify_all()
            self._wake_space_waiter()
            return batch

    def _wake_space_waiter(self) -> None:
        if self._space_waiter is not None:
            loop, future = self._space_waiter
            self._space_waiter = None
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result(None))

    def _has_room(self, size: int) -> bool:
        # An item larger than the whole buffer still goes through once the buffer is empty.
        return not self._items or self._buffered_bytes + size <= self._max_buffered_bytes

    def _append(self, item: Item, size: int) -> None:
        self._items.append((item, size))
        self._buffered_bytes += size
        self._condition.notify_all()

    def _put(self, item: Item, size: int) -> bool:
        with self._condition:
            while not self._cancelled and not self._has_room(size):
                self._condition.wait()
            if self._cancelled:
                return False
            self._append(item, size)
            return True

    async def _put_async(self, item: Item, size: int) -> bool:
        loop = asyncio.get_running_loop()
        while True:
            with self._condition:
                if self._cancelled:
                    return False
                if self._has_room(size):
                    self._append(item, size)
                    return True
                future: asyncio.Future[None] = loop.create_future()
                self._space_waiter = (loop, future)
            await future

    def _encode(self, value: Any) -> tuple[Item, int, bool]:
        index = self._produced
        self._produced += 1
        if isinstance(value, StreamChunk):
            data, is_final, metadata = value.data, value.is_final, value.metadata
        else:
            data, is_final, metadata = value, False, None
        binary = encode_binary(data)
        if binary is None:
            text = encode_json(data)
            if not is_final and not metadata:
                # len(text) is the byte size for ASCII; only a long text can be over the limit in UTF-8.
                if len(text) * 4 > self._max_chunk_bytes:
                    self._check_size(index, len(text.encode()))
                return text, len(text), False
            chunk = pb.ToolChunk(data=text.encode(), encoding=pb.ENCODING_JSON)
        else:
            chunk = pb.ToolChunk(data=binary.data, encoding=binary.encoding, array=binary.array)
        chunk.chunk_id = f"{self._context.call_id}-{index}"
        chunk.is_final = is_final
        if metadata:
            chunk.metadata.update(metadata)
        size = chunk.ByteSize()
        self._check_size(index, size)
        return chunk, size, is_final

    def _check_size(self, index: int, size: int) -> None:
        if size > self._max_chunk_bytes:
            raise CallFailure(
                code="chunk_too_large",
                message=f"chunk {index} is {size} bytes, over the {self._max_chunk_bytes}-byte message limit",
                hint="yield smaller chunks, or raise the pool's maxMessageBytes",
            )

    def _run(self) -> None:
        self._context.activate()
        iterator: Iterator[Any] | None = None
        try:
            source = self._start()
            if inspect.isawaitable(source) or isinstance(source, AsyncIterator):
                self._run_async(source)
                return
            iterator = iter(source) if not isinstance(source, _NOT_ITERATED) else iter((source,))
            for value in iterator:
                item, size, is_final = self._encode(value)
                if not self._put(item, size) or is_final:
                    break
        except BaseException as error:  # noqa: BLE001 - every failure of a tool goes to the client
            self._fail(error)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                self._close(close)
            self._finish()

    def _run_async(self, source: Any) -> None:
        async def pump() -> None:
            self._context.activate()
            iterable = await source if inspect.isawaitable(source) else source
            if not isinstance(iterable, AsyncIterator):
                iterable = _as_async(iterable)
            try:
                async for value in iterable:
                    item, size, is_final = self._encode(value)
                    if not await self._put_async(item, size) or is_final:
                        break
            finally:
                aclose = getattr(iterable, "aclose", None)
                if aclose is not None:
                    await aclose()

        run = asyncio.run_coroutine_threadsafe(pump(), worker_loop())
        with self._condition:
            self._async_run = run
            cancelled = self._cancelled
        if cancelled:
            run.cancel()
        try:
            run.result()
        except concurrent.futures.CancelledError:
            pass

    def _close(self, close: Callable[[], Any]) -> None:
        try:
            close()
        except Exception as error:  # noqa: BLE001 - a failing finally must not hide the stream's outcome
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
        with self._condition:
            self._finished = True
            self._condition.notify_all()
        for callback in self._finished_callbacks:
            callback()


async def _as_async(iterable: Any) -> AsyncIterator[Any]:
    values = iter(iterable) if not isinstance(iterable, _NOT_ITERATED) else iter((iterable,))
    for value in values:
        yield value
