"""The Pulumi program that deploys the Sophia fleet to Kubernetes (``deploy/__main__.py`` runs it).

The same fleet as ``kubernetes/overlays/prod`` (a test compares them), with stack config for what differs
between clusters: image registry and tag, replicas, resources, namespace, allowed Host names and secrets.
"""
