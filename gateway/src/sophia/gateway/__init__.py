"""sophia.gateway: one MCP endpoint and HTTP API in front of the Sophia capability servers.

`sophia.gateway.app.create_app` builds the ASGI app; `python -m sophia.gateway` serves it; the
`sophia` command lives in `sophia.gateway.cli`. Nothing is imported here, so the CLI starts fast.
"""
