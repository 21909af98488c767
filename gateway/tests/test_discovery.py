"""Kubernetes-native discovery against a STAND-IN API server (an aiohttp app on loopback, not Kubernetes):
it speaks the part of the API discovery uses with the real shapes — a ServiceList with
metadata.resourceVersion, `?labelSelector=` (key or key=value), and `?watch=true&resourceVersion=` streaming
one JSON event per line (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR), answering 410 Gone (as a status or as
an ERROR event with a Status object) when the asked-for version is older than the history it keeps."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus

from sophia.gateway.catalog import Catalog
from sophia.gateway.discovery import ApiClient, Discovered, KubeConfigError, KubernetesDiscovery
from sophia.gateway.fleet import Fleet
from sophia.gateway.settings import ExternalServer, GatewaySettings
from sophia.kit.testing import serve_asgi

TOKEN = "stand-in-service-account-token"


class StandInApiServer:
    def __init__(self) -> None:
        self.services: dict[str, dict[str, Any]] = {}
        self.version = 100
        self.history: list[tuple[int, dict[str, Any]]] = []
        self.compacted_through = 0  # the oldest version kept: a watch from an older one is 410 Gone
        self.gone_as_status = True
        self.requests: list[dict[str, str]] = []
        self.changed = asyncio.Condition()
        self.open_watches = asyncio.Event()  # cleared: new watches wait
        self.open_watches.set()
        self.generation = 0  # end_watches() bumps it: streams of an older generation end

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v1/namespaces/{ns}/services", self.handle)
        return app

    def _selected(self, service: dict[str, Any], selector: str) -> bool:
        key, _, value = selector.partition("=")
        labels = service["metadata"].get("labels", {})
        return key in labels and (not value or labels[key] == value)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"kind": "Status", "code": 401}, status=401)
        self.requests.append(dict(request.query))
        selector = request.query.get("labelSelector", "")
        if request.query.get("watch") != "true":
            items = [s for s in self.services.values() if self._selected(s, selector)]
            return web.json_response(
                {
                    "kind": "ServiceList",
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(self.version)},
                    "items": items,
                }
            )
        await self.open_watches.wait()
        since = int(request.query["resourceVersion"])
        if since < self.compacted_through:
            status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired", "code": 410}
            if self.gone_as_status:
                return web.json_response(status, status=410)
            response = web.StreamResponse()
            await response.prepare(request)
            await response.write(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
            return response
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        sent, generation = since, self.generation
        while generation == self.generation:
            for version, event in self.history:
                if version > sent and self._selected(event["object"], selector):
                    await response.write(json.dumps(event).encode() + b"\n")
                if version > sent:
                    sent = version
            async with self.changed:
                if generation == self.generation:
                    await self.changed.wait()
        return response

    async def apply(self, kind: str, service: dict[str, Any]) -> None:
        self.version += 1
        name = service["metadata"]["name"]
        service = json.loads(json.dumps(service))
        service["metadata"]["resourceVersion"] = str(self.version)
        if kind == "DELETED":
            self.services.pop(name)
        else:
            self.services[name] = service
        self.history.append((self.version, {"type": kind, "object": service}))
        async with self.changed:
            self.changed.notify_all()

    async def end_watches(self) -> None:
        """New watches wait; open ones end (as when the API server restarts)."""
        self.open_watches.clear()
        self.generation += 1
        async with self.changed:
            self.changed.notify_all()


def service(name: str, kind: str, ports: dict[str, int], **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": "sophia",
            "labels": {"sophia.dev/mcp": kind},
            "annotations": annotations,
        },
        "spec": {"ports": [{"name": n, "port": p} for n, p in ports.items()]},
    }


class Recorder:
    """The gateway's side of the hook, recorded."""

    def __init__(self) -> None:
        self.servers: dict[str, Discovered] = {}
        self.log: list[str] = []

    def discovered(self, server: Discovered) -> None:
        self.servers[server.key] = server
        self.log.append(f"+{server.key}")

    async def gone(self, key: str) -> None:
        del self.servers[key]
        self.log.append(f"-{key}")


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[StandInApiServer, Recorder, KubernetesDiscovery]]:
    api = StandInApiServer()
    runner = web.AppRunner(api.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    token = tmp_path / "token"
    token.write_text(TOKEN)
    recorder = Recorder()
    discovery = KubernetesDiscovery(ApiClient(f"http://127.0.0.1:{port}", "sophia", token_file=token), recorder)
    task = asyncio.create_task(discovery.run())
    try:
        yield api, recorder, discovery
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.end_watches()
        await runner.cleanup()


async def test_lists_then_watches_servers_coming_and_going_without_polling(cluster) -> None:
    api, recorder, _ = cluster
    await api.apply("ADDED", service("memory", "kit", {"http": 8000, "grpc": 50051}))
    unlabelled = service("postgres", "kit", {"pg": 5432})
    del unlabelled["metadata"]["labels"]["sophia.dev/mcp"]
    await api.apply("ADDED", unlabelled)
    await until(lambda: "sophia/memory" in recorder.servers)
    assert recorder.servers["sophia/memory"].kit_address == "memory.sophia.svc:50051"
    # An operator `kubectl apply`s an MCP server: it is followed at once.
    await api.apply("ADDED", service("notes", "external", {"mcp": 9000}, **{"sophia.dev/mcp-path": "/rpc"}))
    await until(lambda: "sophia/notes" in recorder.servers)
    external = recorder.servers["sophia/notes"].external
    assert external is not None and external.name == "notes" and external.url == "http://notes.sophia.svc:9000/rpc"
    await api.apply("DELETED", api.services["memory"])
    await until(lambda: "sophia/memory" not in recorder.servers)
    assert recorder.log == ["+sophia/memory", "+sophia/notes", "-sophia/memory"]
    lists = [r for r in api.requests if "watch" not in r]
    watches = [r for r in api.requests if r.get("watch") == "true"]
    assert len(lists) == 1 and watches, "one list, then watches: never a second list without a 410"
    assert all(r["resourceVersion"] and r["labelSelector"] == "sophia.dev/mcp" for r in watches)


@pytest.mark.parametrize("as_status", [True, False], ids=["http-410", "error-event-410"])
async def test_expired_watch_relists_and_reconciles(cluster, as_status: bool) -> None:
    api, recorder, discovery = cluster
    api.gone_as_status = as_status
    await api.apply("ADDED", service("memory", "kit", {"grpc": 50051}))
    await api.apply("ADDED", service("code", "kit", {"grpc": 50051}))
    await until(lambda: len(recorder.servers) == 2)
    await api.end_watches()  # while nobody watches: code goes, visual comes, history is compacted
    await api.apply("DELETED", api.services["code"])
    await api.apply("ADDED", service("visual", "kit", {"grpc": 50051}))
    api.compacted_through = api.version
    api.open_watches.set()
    await until(lambda: set(recorder.servers) == {"sophia/memory", "sophia/visual"})
    assert recorder.log[-2:] == ["-sophia/code", "+sophia/visual"]
    assert len([r for r in api.requests if "watch" not in r]) == 2
    assert discovery.resource_version == str(api.version)


async def test_a_changed_port_moves_the_server_and_unusable_services_are_skipped(cluster) -> None:
    api, recorder, _ = cluster
    await api.apply("ADDED", service("nogrpc", "kit", {"http": 8000}))
    await api.apply("ADDED", service("bad", "external", {"mcp": 9000}, **{"sophia.dev/mcp-name": "Bad_Name"}))
    await api.apply("ADDED", service("evil", "external", {"mcp": 9000}, **{"sophia.dev/mcp-path": "@attacker/x"}))
    await api.apply("ADDED", service("router", "kit", {"grpc": 50051}))
    await until(lambda: "sophia/router" in recorder.servers)
    assert set(recorder.servers) == {"sophia/router"}
    await api.apply("MODIFIED", service("router", "kit", {"grpc": 50052}))
    await until(lambda: recorder.servers["sophia/router"].kit_address == "router.sophia.svc:50052")
    assert recorder.log == ["+sophia/router", "-sophia/router", "+sophia/router"]
    relabelled = service("router", "unknown", {"grpc": 50052})
    await api.apply("MODIFIED", relabelled)
    await until(lambda: "sophia/router" not in recorder.servers)


async def test_fleet_hook_adds_and_removes_servers_in_the_catalog() -> None:
    catalog = Catalog(InMemorySubscriptionBus())
    async with aiohttp.ClientSession() as http:
        fleet = Fleet(GatewaySettings(servers=[], external=[]), catalog, http)
        notes = ExternalServer(name="notes", url="http://127.0.0.1:9/mcp")
        fleet.discovered(Discovered("sophia/notes", external=notes))
        fleet.discovered(Discovered("other/notes", external=notes))  # same tool prefix: skipped, not a crash
        assert catalog.server("notes") is not None and len(fleet._discovered) == 1
        await fleet.gone("sophia/notes")
        assert catalog.server("notes") is None
        await fleet.stop()


def test_kubeconfig_and_in_cluster_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    config.write_text(
        json.dumps(
            {
                "current-context": "dev",
                "contexts": [{"name": "dev", "context": {"cluster": "kind", "user": "me", "namespace": "team"}}],
                "clusters": [{"name": "kind", "cluster": {"server": "http://127.0.0.1:6443/"}}],
                "users": [{"name": "me", "user": {"token": "t0k"}}],
            }
        )
    )
    client = ApiClient.from_kubeconfig(config)
    assert (client.server, client.namespace, client.headers()) == (
        "http://127.0.0.1:6443",
        "team",
        {"Authorization": "Bearer t0k"},
    )
    config.write_text(config.read_text().replace('{"token": "t0k"}', "{}"))
    with pytest.raises(KubeConfigError, match="no bearer token"):
        ApiClient.from_kubeconfig(config)
    with pytest.raises(KubeConfigError, match="no usable current context"):
        ApiClient.from_kubeconfig(tmp_path / "missing")
    root = tmp_path / "sa"
    root.mkdir()
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubeConfigError, match="not in a pod"):
        ApiClient.in_cluster(root)
    (root / "token").write_text("first\n")
    (root / "namespace").write_text("sophia\n")
    (root / "ca.crt").write_text(CA)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    client = ApiClient.in_cluster(root)
    assert (client.server, client.namespace) == ("https://[fd00::1]:443", "sophia")
    assert client.ssl_context is not None and client.ssl_context.verify_mode.name == "CERT_REQUIRED"
    (root / "token").write_text("rotated\n")  # the kubelet rotates projected tokens: read per request
    assert client.headers() == {"Authorization": "Bearer rotated"}


def _self_signed_ca() -> str:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stand-in-ca")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


CA = _self_signed_ca()


async def test_a_discovered_server_serves_its_tools_through_the_catalog_until_it_is_gone() -> None:
    """The hook end to end with a real MCP server (the SDK's, over HTTP on loopback): what discovery reports
    is connected, listed and callable; when its Service is deleted, its tools leave the catalog."""
    server = MCPServer("notes")

    @server.tool()
    def lookup(term: str) -> str:
        """Find a note."""
        return f"note about {term}"

    catalog = Catalog(InMemorySubscriptionBus())
    async with serve_asgi(server.streamable_http_app()) as url, aiohttp.ClientSession() as http:
        fleet = Fleet(GatewaySettings(servers=[], external=[]), catalog, http)
        fleet.discovered(Discovered("sophia/notes", external=ExternalServer(name="notes", url=f"{url}/mcp")))
        await until(lambda: catalog.has("notes_lookup"), timeout=20)
        route = catalog.route("notes_lookup")
        assert route.upstream is not None
        result = await route.upstream.call_tool(route.spec.name, {"term": "kiwi"}, 10)
        assert result["content"][0]["text"] == "note about kiwi"
        await fleet.gone("sophia/notes")
        assert not catalog.has("notes_lookup") and catalog.server("notes") is None
        await fleet.stop()
