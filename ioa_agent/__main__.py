"""`python -m ioa_agent ...`: the `ioa` command, for environments without the script."""

from __future__ import annotations

import sys

from ioa_agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
