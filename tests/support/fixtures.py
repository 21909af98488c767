"""Fleet fixtures shared by every test package: a sample kit server and a gateway in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sophia.kit.testing import KitServer
from tests.support.fleet import GatewayProcess, sample_server


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KitServer]:
    server = sample_server(tmp_path_factory.mktemp("sample")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(sample: KitServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    gw = GatewayProcess([sample.grpc_address], Path(tmp_path_factory.mktemp("gateway"))).start()
    gw.wait_for_tools({"sample_echo"})
    yield gw
    gw.stop()
