"""The gRPC control plane of a capability server: `grpc.health.v1.Health` and `Capabilities.Describe`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from sophia.kit._internal_auth import InternalAuthInterceptor
from sophia.kit.security import InternalCredential
from sophia.v1 import capabilities_pb2 as pb
from sophia.v1 import capabilities_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from sophia.kit._service import Service
    from sophia.kit._settings import ServiceSettings

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class CapabilitiesServicer(pb_grpc.CapabilitiesServicer):
    def __init__(self, service: Service, settings: ServiceSettings) -> None:
        self._service = service
        self._settings = settings

    async def Describe(self, request: pb.DescribeRequest, context: grpc.aio.ServicerContext) -> pb.DescribeResponse:
        return self._service.describe(self._settings)


class ControlPlane:
    """The gRPC server; health is reported for "" (the whole server) and for the service name.
    With an internal credential configured, every call but Health needs it."""

    def __init__(
        self, service: Service, settings: ServiceSettings, credential: InternalCredential | None = None
    ) -> None:
        self.service = service
        credential = credential if credential is not None else InternalCredential.from_settings(settings)
        interceptors = [InternalAuthInterceptor(credential)] if credential.enabled else []
        self.server = grpc.aio.server(interceptors=interceptors)
        self.health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        pb_grpc.add_CapabilitiesServicer_to_server(CapabilitiesServicer(service, settings), self.server)
        self.port = self.server.add_insecure_port(f"{settings.host}:{settings.grpc_port}")

    async def start(self) -> None:
        await self.server.start()

    async def set_serving(self, serving: bool) -> None:
        status = SERVING if serving else NOT_SERVING
        for name in ("", self.service.name):
            await self.health.set(name, status)

    async def drain(self) -> None:
        """NOT_SERVING for good, so watchers (the gateway) drop our tools before connections close."""
        await self.health.enter_graceful_shutdown()

    async def stop(self, grace: float) -> None:
        await self.drain()
        # Health watches (the gateway holds one open) never end on their own: past a short grace they are
        # cancelled, so shutdown does not wait the whole grace period for them.
        await self.server.stop(min(grace, 1.0))
