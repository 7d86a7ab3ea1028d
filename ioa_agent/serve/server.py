"""Running the page: `serve` picks the token, prints the address once and runs uvicorn.

The token comes from security.choose_token: generated (printed here once, inside the
address, and nowhere else), `$IOA_SERVE_TOKEN` (never printed), or none with
`--no-token` on a loopback bind (with a warning). The access log is off, so no
address with a token reaches a log. Nothing here handles requests (app.py does).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

from ioa_agent.serve.app import create_app
from ioa_agent.serve.security import TOKEN_ENV, choose_token, is_local


def address(host: str, port: int) -> str:
    """The address to open for a server bound to `host`:`port`."""
    name = socket.gethostname() if host in ("0.0.0.0", "::") else host
    return f"http://{'[' + name + ']' if ':' in name else name}:{port}/"


def serve(
    root: Path,
    host: str,
    port: int,
    no_token: bool = False,
    configs: list[Path] | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Run the page until interrupted (ValueError, before binding, for a refused setup)."""
    import uvicorn

    token, source = choose_token(host, no_token, os.environ if environ is None else environ)
    app = create_app(root, token, is_local(host), configs)
    where = address(host, port)
    if source == "generated":
        print(f"ioa serve: {where}?token={token}")
        print("  open this address once: it sets a cookie, and the token is not shown again")
    elif source == "env":
        print(f"ioa serve: {where}  (token from ${TOKEN_ENV}; scripts: Authorization: Bearer)")
    else:
        print(f"ioa serve: {where}")
        print(
            "ioa serve: warning: --no-token: every user of this machine can open the page "
            "and start runs; drop --no-token on a shared machine",
            file=sys.stderr,
        )
    print(f"  runs in {root}; Ctrl-C stops the page, not the runs", flush=True)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
