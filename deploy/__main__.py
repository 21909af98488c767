"""The Sophia fleet on Kubernetes: `pulumi preview --stack staging` (config in Pulumi.<stack>.yaml).
The infra service runs this program as its default project (`sophia`), so chat can preview and deploy it."""

import pulumi

from sophia.deploy.config import load
from sophia.deploy.fleet import deploy

fleet = deploy(load())
pulumi.export("namespace", fleet.config.namespace)
pulumi.export("images", {name: fleet.config.image(name) for kind, name in fleet.resources if kind == "Deployment"})
pulumi.export("gateway", f"http://gateway.{fleet.config.namespace}.svc.cluster.local:8080")
