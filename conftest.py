# Fixtures that start real fleet processes, shared by tests/ and every package's tests.
pytest_plugins = ["tests.support.fixtures"]
