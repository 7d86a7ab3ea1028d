"""A fault-injecting HTTP reverse proxy for tests, on 127.0.0.1, in a background thread.

Every request goes to the upstream server unless a seeded draw (probability `p`) picks
a fault instead, one of:

- `429`: answered at once with HTTP 429 and `Retry-After: 0`;
- `500`: answered at once with HTTP 500;
- `timeout`: held for `hold_s` seconds (longer than the client's timeout), then the
  connection is dropped without an answer;
- `truncated`: forwarded, and a 200 answer comes back with its JSON body cut in half
  (the Content-Length matches the cut body, so the client sees bad JSON, not a broken
  connection).

The proxy counts requests by path and outcome (`forwarded` or one of the faults above).
With `p=0` it is a plain counting proxy. Answers are read whole from upstream before
they are sent on, so a streamed answer arrives in one piece.

It does not rewrite requests, speak HTTPS, or listen anywhere but 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from collections import Counter
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

FAULTS = ("429", "500", "timeout", "truncated")
OUTCOMES = ("forwarded", *FAULTS)
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class FaultProxy:
    """A reverse proxy in front of `upstream` (e.g. `http://127.0.0.1:8000`)."""

    def __init__(
        self,
        upstream: str,
        p: float = 0.0,
        faults: Sequence[str] = FAULTS,
        seed: int = 0,
        hold_s: float = 5.0,
        upstream_timeout: float = 300.0,
    ) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be within [0, 1], got {p}")
        unknown = set(faults) - set(FAULTS)
        if unknown or not faults:
            raise ValueError(f"faults must be a non-empty subset of {FAULTS}, got {list(faults)}")
        parts = urlsplit(upstream if "://" in upstream else f"http://{upstream}")
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"upstream must look like http://HOST:PORT, got {upstream!r}")
        self.upstream_host, self.upstream_port = parts.hostname, parts.port
        self.p = p
        self.faults = tuple(faults)
        self.hold_s = hold_s
        self.upstream_timeout = upstream_timeout
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.proxy = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The proxy's root URL, `http://127.0.0.1:PORT` (append `/v1` for OpenAI clients)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """`url` + `/v1`: the base URL an OpenAI client takes."""
        return f"{self.url}/v1"

    def start(self) -> FaultProxy:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()  # releases requests being held for `timeout`
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def counts(self) -> dict[tuple[str, str], int]:
        """Requests so far by (path, outcome)."""
        with self._lock:
            return dict(self._counts)

    def count(self, path: str | None = None, outcome: str | None = None) -> int:
        """Requests so far, optionally only those to `path` and/or with `outcome`."""
        with self._lock:
            return sum(
                n
                for (p, o), n in self._counts.items()
                if (path is None or p == path) and (outcome is None or o == outcome)
            )

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def _draw(self) -> str:
        with self._lock:
            if self.p > 0 and self._random.random() < self.p:
                return self._random.choice(self.faults)
            return "forwarded"

    def _record(self, path: str, outcome: str) -> None:
        with self._lock:
            self._counts[(path, outcome)] += 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # quiet: tests read the counts instead

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        proxy: FaultProxy = self.server.proxy  # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        outcome = proxy._draw()
        proxy._record(path, outcome)
        if outcome == "429":
            self._reply(429, _error("rate limited by the fault proxy"), {"Retry-After": "0"})
        elif outcome == "500":
            self._reply(500, _error("internal error injected by the fault proxy"))
        elif outcome == "timeout":
            proxy._closing.wait(proxy.hold_s)
            self.close_connection = True
        else:
            status, headers, data = self._forward(proxy, body)
            if outcome == "truncated" and status == 200:
                data = data[: max(1, len(data) // 2)]
            self._reply(status, data, headers)

    def _forward(self, proxy: FaultProxy, body: bytes) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(
            proxy.upstream_host, proxy.upstream_port, timeout=proxy.upstream_timeout
        )
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            out = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
            return response.status, out, data
        except OSError as exc:
            return 502, {"Content-Type": "application/json"}, _error(f"upstream: {exc}")
        finally:
            conn.close()

    def _reply(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json")
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _error(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "fault_proxy"}}).encode()
