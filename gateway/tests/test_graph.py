"""The edges file of the capability graph: the shipped one loads, and a bad one is refused with a message
that says what is wrong and where — at load time, and by a gateway process, which will not start on it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from sophia.gateway.graph import EdgesFileError, load_edges
from sophia.gateway.intent.schema import CAPABILITIES
from sophia.kit.testing import ManagedProcess, free_port
from tests.support.fleet import ROOT

KNOWN: set[str] = set(CAPABILITIES)


def edges_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edges.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_edges_file_loads_and_names_only_known_capabilities() -> None:
    edges = load_edges(None, KNOWN)
    assert edges
    for edge in edges:
        assert edge.source.partition(".")[0] in KNOWN
        assert edge.target.partition(".")[0] in KNOWN
    pairs = {(edge.source, edge.target): edge.argument for edge in edges}
    assert pairs[("visual.search", "business.asana_create_task")] == "notes"
    assert ("infra.preview", "infra.up") in pairs


def test_an_edge_naming_an_unknown_capability_is_refused_naming_it(tmp_path: Path) -> None:
    path = edges_file(tmp_path, "edges:\n  - {from: code.commit, to: billing.invoice}\n")
    with pytest.raises(EdgesFileError) as caught:
        load_edges(path, KNOWN)
    message = str(caught.value)
    assert str(path) in message
    assert "'billing.invoice' names unknown capability 'billing'" in message
    assert "known: business, code, infra, memory, router, visual" in message


def test_an_external_servers_name_is_a_capability(tmp_path: Path) -> None:
    path = edges_file(tmp_path, "edges:\n  - {from: notes.shout, to: memory.remember, argument: text}\n")
    with pytest.raises(EdgesFileError, match="unknown capability 'notes'"):
        load_edges(path, KNOWN)
    (edge,) = load_edges(path, KNOWN | {"notes"})
    assert (edge.source, edge.target, edge.argument) == ("notes.shout", "memory.remember", "text")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("edges: [\n", "line 2"),  # not YAML: the parser says where
        ("", "valid dictionary"),  # empty
        ("- {from: code, to: infra}\n", "valid dictionary"),  # a list, not {edges: [...]}
        ("edge:\n  - {from: code, to: infra}\n", "edge\n  Extra inputs are not permitted"),  # misspelt key
        ("edges:\n  - {from: code, to: infra}\nextra: 1\n", "extra\n  Extra inputs are not permitted"),
        ("edges:\n  - {from: code, to: infra, because: it does}\n", "edges.0.because\n  Extra inputs"),
        ("edges:\n  - {from: code}\n", "edges.0.to\n  Field required"),  # an end missing
        (
            "edges:\n  - {from: code, to: infra, argument: [a, b]}\n",
            "edges.0.argument\n  Input should be a valid string",
        ),
    ],
)
def test_a_malformed_edges_file_is_refused(tmp_path: Path, text: str, complaint: str) -> None:
    path = edges_file(tmp_path, text)
    with pytest.raises(EdgesFileError) as caught:
        load_edges(path, KNOWN)
    message = str(caught.value)
    assert message.startswith(f"edges file {path}: ")
    assert complaint in message


@pytest.mark.parametrize(
    "end", ["Code.commit", "code_commit", "code.", ".commit", "code.commit.extra", "code.com mit", "", "c" * 40]
)
def test_an_end_that_is_not_service_or_service_dot_tool_is_refused(tmp_path: Path, end: str) -> None:
    path = edges_file(tmp_path, f"edges:\n  - {{from: code.commit, to: '{end}'}}\n")
    with pytest.raises(EdgesFileError, match=re.escape("is not <service> or <service>.<tool>")):
        load_edges(path, KNOWN)


def test_a_missing_edges_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(EdgesFileError, match=re.escape(str(path))):
        load_edges(path, KNOWN)


def test_a_gateway_given_a_bad_edges_file_exits_with_the_reason(tmp_path: Path) -> None:
    path = edges_file(tmp_path, "edges:\n  - {from: code.commit, to: billing.invoice}\n")
    port = free_port()
    process = ManagedProcess(
        [sys.executable, "-m", "sophia.gateway"],
        env={
            "SOPHIA_GATEWAY_PORT": str(port),
            "SOPHIA_GATEWAY_EDGES_FILE": str(path),
            "SOPHIA_GATEWAY_AUTH": "off",
            "SOPHIA_GATEWAY_LOG_FORMAT": "text",
        },
        log_path=tmp_path / "gateway.log",
        health_url=f"http://127.0.0.1:{port}/readyz",
        cwd=ROOT,
    )
    try:
        with pytest.raises(RuntimeError, match="exited with"):
            process.start(timeout=30)
    finally:
        process.stop()
    assert process.returncode not in (None, 0)
    assert "names unknown capability 'billing'" in process.log()
