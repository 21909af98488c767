"""Test helpers for capability servers and the fleet: free ports, managed processes, throwaway Redis.

Fixtures built on these are registered as a pytest plugin (`sophia.kit.testing.plugin`).
"""

from sophia.kit.testing._ports import free_port
from sophia.kit.testing._process import ManagedProcess, wait_until
from sophia.kit.testing._redis import RedisUnavailable, redis_server

__all__ = ["ManagedProcess", "RedisUnavailable", "free_port", "redis_server", "wait_until"]
