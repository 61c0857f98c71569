"""The standard gRPC services a worker serves beside BridgeService: health checking and reflection.

Both come from the official packages (grpcio-health-checking, grpcio-reflection). Health answers
without the token, since Kubernetes' gRPC probes and load balancers send none; reflection, like
every other method, requires it (server.py's TokenInterceptor).

Reflection is imported on its first call, not at start-up: it costs a few milliseconds of imports
that a pool's child workers, which nobody reflects on, would otherwise pay at every start.
"""

from __future__ import annotations

import threading
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from snakepit_bridge.proto import bridge_pb2 as pb

BRIDGE_SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["BridgeService"].full_name
HEALTH_SERVICE_NAME: str = health.SERVICE_NAME
REFLECTION_SERVICE_NAME = "grpc.reflection.v1alpha.ServerReflection"

# Methods served without the token.
PUBLIC_METHOD_PREFIX = f"/{HEALTH_SERVICE_NAME}/"
# The services health reports on: the server as a whole (""), and BridgeService.
_HEALTH_REPORTED = (health.OVERALL_HEALTH, BRIDGE_SERVICE_NAME)


class Health:
    """The worker's health, as grpc.health.v1 reports it: for the server as a whole ("") and for
    BridgeService. SERVING once it serves; NOT_SERVING for good once it begins to stop."""

    def __init__(self) -> None:
        self.servicer = health.HealthServicer()
        for service in _HEALTH_REPORTED:
            self.servicer.set(service, health_pb2.HealthCheckResponse.SERVING)

    def draining(self) -> None:
        """The server is stopping: every service reports NOT_SERVING, and Watch streams hear it."""
        self.servicer.enter_graceful_shutdown()


class _LazyReflection(grpc.GenericRpcHandler):
    """ServerReflection, built the first time a client calls it."""

    def __init__(self, service_names: tuple[str, ...]) -> None:
        self._service_names = service_names
        self._lock = threading.Lock()
        self._handler: grpc.RpcMethodHandler[Any, Any] | None = None

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any] | None:
        if handler_call_details.method != f"/{REFLECTION_SERVICE_NAME}/ServerReflectionInfo":
            return None
        with self._lock:
            if self._handler is None:
                from grpc_reflection.v1alpha import reflection, reflection_pb2

                servicer = reflection.ReflectionServicer(self._service_names)
                self._handler = grpc.stream_stream_rpc_method_handler(
                    servicer.ServerReflectionInfo,
                    request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                    response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
                )
            return self._handler


async def add_async_standard_services(server: grpc.aio.Server) -> Any:
    """Adds health checking (SERVING) and reflection to an asyncio server that serves BridgeService; returns the
    health servicer (set_async_health; `enter_graceful_shutdown()` when the server begins to stop)."""
    from grpc_reflection.v1alpha import reflection

    servicer = health.aio.HealthServicer()
    await set_async_health(servicer, serving=True)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    reflection.enable_server_reflection((BRIDGE_SERVICE_NAME, HEALTH_SERVICE_NAME, REFLECTION_SERVICE_NAME), server)
    return servicer


async def set_async_health(servicer: Any, *, serving: bool) -> None:
    """Reports SERVING or NOT_SERVING on an asyncio server's health servicer (add_async_standard_services)."""
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for service in _HEALTH_REPORTED:
        await servicer.set(service, status)


def add_standard_services(server: grpc.Server, health_status: Health) -> None:
    """Adds health checking and reflection to a server that serves BridgeService."""
    health_pb2_grpc.add_HealthServicer_to_server(health_status.servicer, server)
    server.add_generic_rpc_handlers(
        (_LazyReflection((BRIDGE_SERVICE_NAME, HEALTH_SERVICE_NAME, REFLECTION_SERVICE_NAME)),)
    )
