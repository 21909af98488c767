"""`python -m sophia.gateway.cli.fake_redis --port N`: fakeredis's TCP server, the last-resort Redis of
`sophia up` on a machine with neither REDIS_URL nor redis-server. Everything lives in memory."""

from __future__ import annotations

import argparse

from fakeredis import TcpFakeServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = TcpFakeServer(("127.0.0.1", args.port))
    server.serve_forever()


if __name__ == "__main__":
    main()
