"""Where the Kubernetes API is and how to authenticate to it: in a pod, the service account's token and CA
(the kubelet mounts them); elsewhere, the current context of a kubeconfig (server, CA, bearer token)."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import yaml

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class KubeConfigError(RuntimeError):
    """No usable way to reach the Kubernetes API; the message says what is missing."""


@dataclass(frozen=True)
class ApiClient:
    """The API server's base URL, a TLS context trusting its CA, and a token file re-read per request (the
    kubelet rotates projected service-account tokens)."""

    server: str
    namespace: str
    ssl_context: ssl.SSLContext | None = None
    token_file: Path | None = None
    token: str | None = None

    def headers(self) -> dict[str, str]:
        token = self.token_file.read_text().strip() if self.token_file else self.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    @classmethod
    def in_cluster(cls, root: Path = SERVICE_ACCOUNT, namespace: str | None = None) -> ApiClient:
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host or not (root / "token").is_file():
            raise KubeConfigError("not in a pod: KUBERNETES_SERVICE_HOST or the service-account token is missing")
        host = f"[{host}]" if ":" in host else host
        return cls(
            server=f"https://{host}:{port}",
            namespace=namespace or (root / "namespace").read_text().strip(),
            ssl_context=ssl.create_default_context(cafile=str(root / "ca.crt")),
            token_file=root / "token",
        )

    @classmethod
    def from_kubeconfig(cls, path: Path, namespace: str | None = None) -> ApiClient:
        try:
            config = yaml.safe_load(path.read_text())
            context_name = config["current-context"]
            context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
            cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
            user = next(u["user"] for u in config.get("users", []) if u["name"] == context.get("user"))
        except (OSError, yaml.YAMLError, KeyError, TypeError, StopIteration) as exc:
            raise KubeConfigError(f"kubeconfig {path} has no usable current context ({type(exc).__name__})") from exc
        server = str(cluster["server"]).rstrip("/")
        ssl_context = None
        if server.startswith("https://"):
            ssl_context = ssl.create_default_context(cafile=cluster.get("certificate-authority"))
            if cluster.get("certificate-authority-data"):
                import base64

                ssl_context.load_verify_locations(
                    cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
                )
        token = user.get("token")
        token_file = Path(user["tokenFile"]) if user.get("tokenFile") else None
        if token is None and token_file is None:
            raise KubeConfigError(f"kubeconfig {path}: the user of context {context_name!r} has no bearer token")
        return cls(server, namespace or context.get("namespace") or "default", ssl_context, token_file, token)

    @classmethod
    def discover(cls, namespace: str | None = None, kubeconfig: Path | None = None) -> ApiClient:
        """In a pod, the service account; else KUBECONFIG (or ~/.kube/config)."""
        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            return cls.in_cluster(namespace=namespace)
        path = kubeconfig or Path(os.environ.get("KUBECONFIG", str(Path.home() / ".kube" / "config")))
        return cls.from_kubeconfig(path, namespace)
