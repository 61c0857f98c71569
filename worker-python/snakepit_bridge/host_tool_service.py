"""ExecuteToolWithHostTools and ExecuteStreamingToolWithHostTools: a call on a stream both ways.

A pool with host tools calls through these. The client's first message is the call's request; the
server sends the tool's output and, whenever the tool calls a host tool (``SessionContext.call_host_tool``),
a ``HostToolCall``, whose answer comes back on the same stream. Answers are read by a thread started
at the first host-tool call, so calls that make none cost no thread. Messages arrive as bytes (server.py):
a first message that does not parse is refused as any request is (errors.parse_request).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
from google.protobuf.message import DecodeError

from snakepit_bridge.errors import CallFailure, abort, parse_request
from snakepit_bridge.host_tools import HostToolChannel
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.servicer import BridgeServicer
from snakepit_bridge.wire import varint

# ToolMessage.batch: field 1, length-delimited. Batches are serialized by hand (wire.py) and wrapped as is.
_BATCH_TAG = b"\x0a"


def _batch_message(batch: bytes) -> bytes:
    return _BATCH_TAG + varint(len(batch)) + batch


def _host_calls(channel: HostToolChannel) -> Iterator[bytes]:
    for call_id, name, arguments in channel.take_requests():
        yield pb.ToolMessage(host_call=pb.HostToolCall(id=call_id, name=name, arguments=arguments)).SerializeToString()


def _read_answers(requests: Iterator[bytes], channel: HostToolChannel) -> None:
    def read() -> None:
        ending = "the call ended"
        try:
            for data in requests:
                try:
                    message = pb.HostMessage.FromString(data)
                except DecodeError:
                    # Answers that follow one that does not read cannot be trusted to be the host's: none is read.
                    ending = "the host sent a message that is not a valid HostMessage"
                    break
                if not message.HasField("host_result"):
                    continue
                answer = message.host_result
                if answer.HasField("error"):
                    channel.settle(answer.id, (None, (answer.error.message, answer.error.type)))
                else:
                    channel.settle(answer.id, (answer.result, None))
        except grpc.RpcError:
            ending = "the call was cancelled"
        finally:
            channel.close(ending)

    threading.Thread(target=read, name="snakepit-host-answers", daemon=True).start()


class HostToolService:
    """The two methods, over a BridgeServicer's calls. Responses are serialized ToolMessages."""

    def __init__(self, servicer: BridgeServicer) -> None:
        self._servicer = servicer
        self._worker_id = servicer.worker_id

    def ExecuteToolWithHostTools(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        request, channel = self._open(requests, context)
        outcome: list[pb.ExecuteToolResponse | CallFailure] = []

        def run() -> None:
            result = self._servicer.execute(request, context, channel)
            with channel.condition:
                outcome.append(result)
                channel.condition.notify_all()

        # The tool runs beside this thread, which sends its host-tool calls while it runs.
        threading.Thread(target=run, name=f"tool-{request.call_id}", daemon=True).start()

        def cancelled() -> bool:
            # The cancellation closes the channel, which wakes this thread up.
            return channel.closed and not context.is_active()

        while True:
            with channel.condition:
                channel.condition.wait_for(lambda: bool(outcome) or channel.has_requests() or cancelled())
                done = outcome[0] if outcome else None
                if done is None and cancelled():
                    # Nobody waits for the result; the tool stops on its own (AwaitCall tracks it).
                    return
            yield from _host_calls(channel)
            if isinstance(done, CallFailure):
                abort(context, done, self._worker_id)
            if done is not None:
                yield pb.ToolMessage(result=done).SerializeToString()
                return

    def ExecuteStreamingToolWithHostTools(
        self, requests: Iterator[bytes], context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        request, channel = self._open(requests, context)
        for batch, _ in self._servicer.stream(request, context, channel):
            yield from _host_calls(channel)
            if len(batch) > 0:
                yield _batch_message(batch.build())

    def _open(
        self, requests: Iterator[bytes], context: grpc.ServicerContext
    ) -> tuple[pb.ExecuteToolRequest, HostToolChannel]:
        data = next(requests, None)
        try:
            first = None if data is None else parse_request(pb.HostMessage, data)
        except CallFailure as failure:
            abort(context, failure, self._worker_id)
        if first is None or not first.HasField("request"):
            abort(
                context,
                CallFailure(
                    code="invalid_arguments",
                    message="the first message of a ...WithHostTools call must be its request",
                ),
                self._worker_id,
            )
        # Closed by the call's cancellation (CallContext.cancel), or when the reader finds the stream's end.
        channel = HostToolChannel(
            first.request.host_tools,
            lambda: _read_answers(requests, channel),
            max_arguments_bytes=self._servicer.max_host_arguments_bytes,
        )
        return first.request, channel
