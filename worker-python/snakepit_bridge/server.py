"""Builds the gRPC server that serves an adapter."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from snakepit_bridge import unix_socket
from snakepit_bridge.errors import ERROR_METADATA_KEY, CallFailure, abort, parse_request
from snakepit_bridge.grpc_services import BRIDGE_SERVICE_NAME, PUBLIC_METHOD_PREFIX, Health, add_standard_services
from snakepit_bridge.host_tool_service import HostToolService
from snakepit_bridge.proto import bridge_pb2 as pb
from snakepit_bridge.servicer import BridgeServicer

M = TypeVar("M", bound=Message)
R = TypeVar("R")


@dataclass(frozen=True)
class TlsFiles:
    certificate_chain: bytes
    private_key: bytes
    # CA certificates a client's certificate must be signed by (mutual TLS); None: clients need none.
    client_ca: bytes | None = None

    def server_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.private_key, self.certificate_chain)],
            root_certificates=self.client_ca,
            require_client_auth=self.client_ca is not None,
        )


def may_pass(handler_call_details: grpc.HandlerCallDetails, expected: bytes) -> bool:
    """Whether a call carries ``authorization: <expected>``, or is a health check (probes send no token, and a
    health status tells nothing about the adapter)."""
    if handler_call_details.method.startswith(PUBLIC_METHOD_PREFIX):
        return True
    return any(
        key == "authorization" and hmac.compare_digest(value.encode() if isinstance(value, str) else value, expected)
        for key, value in handler_call_details.invocation_metadata or ()
    )


# The trailers of a refused call.
UNAUTHENTICATED_TRAILERS = (
    (ERROR_METADATA_KEY, pb.ErrorDetail(code="unauthenticated", message="missing or wrong token").SerializeToString()),
)


class TokenInterceptor(grpc.ServerInterceptor):
    """Refuses every call that does not carry ``authorization: Bearer <token>``, except health checks."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()
        # A handler of request streams, whatever the method: it answers without reading the request, which any
        # client could make --max-message-bytes long.
        self._refusal: grpc.RpcMethodHandler[Any, Any] = grpc.stream_stream_rpc_method_handler(self._refuse)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if may_pass(handler_call_details, self._expected):
            return continuation(handler_call_details)
        return self._refusal

    @staticmethod
    def _refuse(requests: Iterator[bytes], context: grpc.ServicerContext) -> None:
        context.set_trailing_metadata(UNAUTHENTICATED_TRAILERS)
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong token")


def _parsing(
    message_type: type[M], handle: Callable[[M, grpc.ServicerContext], R], worker_id: str
) -> Callable[[bytes, grpc.ServicerContext], R]:
    """``handle``, taking the request's bytes. A request that a handler's deserializer cannot read, grpcio
    answers itself, with INTERNAL and no ErrorDetail, which a pool takes for a broken connection; here it is
    refused as the client's mistake (errors.parse_request). The parse is the one grpcio made, a Python call
    later (tens of nanoseconds, against a call's hundreds of microseconds)."""

    def handler(request: bytes, context: grpc.ServicerContext) -> R:
        try:
            parsed = parse_request(message_type, request)
        except CallFailure as failure:
            abort(context, failure, worker_id)
        return handle(parsed, context)

    return handler


def _bridge_service(servicer: BridgeServicer) -> grpc.GenericRpcHandler:
    """The BridgeService methods, as the generated registration has them, except that requests arrive as bytes
    (parsed by _parsing, and by HostToolService for its streams) and that the batched streams yield ChunkBatch
    (and ToolMessage) messages already serialized (see wire.py)."""
    unary, stream = grpc.unary_unary_rpc_method_handler, grpc.unary_stream_rpc_method_handler
    both_ways = grpc.stream_stream_rpc_method_handler
    host = HostToolService(servicer)
    worker_id = servicer.worker_id
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "Ping": unary(
            _parsing(pb.PingRequest, servicer.Ping, worker_id), response_serializer=pb.PingResponse.SerializeToString
        ),
        "ListTools": unary(
            _parsing(pb.ListToolsRequest, servicer.ListTools, worker_id),
            response_serializer=pb.ListToolsResponse.SerializeToString,
        ),
        "ExecuteTool": unary(
            _parsing(pb.ExecuteToolRequest, servicer.ExecuteTool, worker_id),
            response_serializer=pb.ExecuteToolResponse.SerializeToString,
        ),
        "ExecuteStreamingTool": stream(
            _parsing(pb.ExecuteToolRequest, servicer.ExecuteStreamingTool, worker_id),
            response_serializer=pb.ToolChunk.SerializeToString,
        ),
        "ExecuteStreamingToolBatched": stream(
            _parsing(pb.ExecuteToolRequest, servicer.ExecuteStreamingToolBatched, worker_id)
        ),
        "ExecuteToolWithHostTools": both_ways(host.ExecuteToolWithHostTools),
        "ExecuteStreamingToolWithHostTools": both_ways(host.ExecuteStreamingToolWithHostTools),
        "AwaitCall": unary(
            _parsing(pb.AwaitCallRequest, servicer.AwaitCall, worker_id),
            response_serializer=pb.AwaitCallResponse.SerializeToString,
        ),
    }
    return grpc.method_handlers_generic_handler(BRIDGE_SERVICE_NAME, handlers)


def start_server(
    servicer: BridgeServicer,
    *,
    host: str,
    port: int,
    token: str | None,
    max_message_bytes: int,
    max_workers: int,
    health: Health,
    tls: TlsFiles | None = None,
    socket_path: str | None = None,
) -> tuple[grpc.Server, int]:
    """Starts serving BridgeService, health checking and reflection; returns the server and the port it
    bound (chosen by the OS when port is 0), or 0 when it listens on the Unix socket ``socket_path``
    instead of ``host``."""
    server = grpc.server(
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="snakepit-rpc"),
        interceptors=[TokenInterceptor(token)] if token else [],
        options=[
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.so_reuseport", 0),
        ],
    )
    server.add_generic_rpc_handlers((_bridge_service(servicer),))
    add_standard_services(server, health)
    if socket_path is not None:
        unix_socket.check_path(socket_path)
        address = f"unix:{socket_path}"
    else:
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if tls is None:
        bound = server.add_insecure_port(address)
    else:
        bound = server.add_secure_port(address, tls.server_credentials())
    if bound == 0:
        raise OSError(f"cannot listen on {address}")
    server.start()
    if socket_path is not None:
        unix_socket.restrict(socket_path)
        return server, 0
    return server, bound
