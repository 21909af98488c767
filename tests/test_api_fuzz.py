"""Fuzz the gateway's HTTP API from its own OpenAPI document with schemathesis: whatever a caller
sends, valid or not, the gateway never answers 5xx (a server being down is 503 by design, and the
fleet here is up, so even that never happens).

The fleet: a real gateway process with auth on (an admin API key, so every operation is reachable),
a real Redis, and the infra test stand-in (a real kit server that echoes its arguments).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from sophia.gateway.security.principals import hash_key
from sophia.kit.testing import wait_until
from tests.support.fleet import GatewayProcess
from tests.support.standins import running_standins

ADMIN_KEY = "sk-sophia-fuzzing-admin-key-0123456789"
AUTH = {"authorization": f"Bearer {ADMIN_KEY}"}
EXAMPLES = 20  # per operation


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[GatewayProcess]:
    log_dir = tmp_path_factory.mktemp("fuzz")
    principals = {"principals": [{"name": "fuzzer", "roles": ["admin"], "key_sha256": hash_key(ADMIN_KEY)}]}
    (log_dir / "principals.yaml").write_text(yaml.safe_dump(principals))
    with running_standins(log_dir, names=("infra",)) as standins:
        process = GatewayProcess(
            standins.grpc_addresses,
            log_dir,
            extra_env={
                "SOPHIA_GATEWAY_AUTH": "on",
                "SOPHIA_GATEWAY_PRINCIPALS_FILE": str(log_dir / "principals.yaml"),
                "SOPHIA_GATEWAY_REDIS_URL": redis_url,
                "SOPHIA_GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
                "SOPHIA_GATEWAY_RATE_LIMIT_BURST": "10000",
                "SOPHIA_GATEWAY_EXPENSIVE_PER_MINUTE": "100000",
                "SOPHIA_GATEWAY_EXPENSIVE_BURST": "10000",
            },
        ).start()
        try:
            _wait_for_infra(process)
            yield process
        finally:
            process.stop()


def _wait_for_infra(process: GatewayProcess) -> None:
    with httpx.Client(base_url=process.url, headers=AUTH, timeout=10) as client:
        wait_until(
            lambda: "infra_preview" in {t["name"] for t in client.get("/v1/capabilities").json()["tools"]},
            20,
            "the infra stand-in behind the gateway",
        )


@pytest.fixture(scope="module")
def api_schema(gateway: GatewayProcess) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")


def test_no_request_makes_the_gateway_fail(api_schema: schemathesis.BaseSchema) -> None:
    # Driven through hypothesis directly: schemathesis's pytest plugin does not load under this pytest.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(headers=AUTH, timeout=30)
            case.validate_response(response, checks=[not_a_server_error])

        fuzz()


def test_the_schema_covers_the_api(api_schema: schemathesis.BaseSchema) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert {"/v1/ask", "/v1/intent", "/v1/tools/{name}", "/v1/approvals/{approval_id}/approve", "/v1/audit"} <= paths
