"""`python -m sophia.gateway.cli`: the same as the `sophia` command."""

import sys

from sophia.gateway.cli import main

if __name__ == "__main__":
    sys.exit(main())
