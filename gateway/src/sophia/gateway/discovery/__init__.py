"""Kubernetes-native discovery: kit servers and external MCP servers found by label through the API server.

`KubernetesDiscovery` lists the Services that carry the discovery label, then watches them (a streaming
`?watch=true` from the list's resourceVersion, re-listing when the API answers 410 Gone) and tells the
gateway's `Fleet` which servers to add and remove. See README.md beside this file.
"""

from sophia.gateway.discovery.client import ApiClient, KubeConfigError
from sophia.gateway.discovery.services import Discovered, from_service
from sophia.gateway.discovery.watch import KubernetesDiscovery

__all__ = ["ApiClient", "Discovered", "KubeConfigError", "KubernetesDiscovery", "from_service"]
