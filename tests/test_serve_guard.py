"""The page's Guard (serve/security.py) through the real app, and `ioa serve`'s token.

Jupyter's token model on every bind: the `?token=` exchange for a port-scoped
HttpOnly, SameSite=Strict cookie (Secure over https), Bearer for scripts, malformed
credentials answered 4xx (never 500), websockets refused without the token, and
every unsafe method on any route, one added after the fact included, checked for
CSRF and Origin with the body still there for the route. The last tests start the
real `ioa serve` command: the generated token printed once, one from
$IOA_SERVE_TOKEN never printed, `--no-token` only on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from ioa_agent.cli import main
from ioa_agent.serve.app import create_app
from ioa_agent.serve.security import TOKEN_ENV, Guard, choose_token

TOKEN = "tok-" + "x" * 28
LOCAL = "http://127.0.0.1:8765"
WS = "ws://127.0.0.1:8765/ws"
ROOT = Path(__file__).resolve().parents[1]


async def echo(request: Request) -> JSONResponse:
    """What the route received: its method, form or raw body."""
    request.app.state.calls += 1
    if request.headers.get("content-type", "").startswith(("multipart/", "application/x-www")):
        body = {k: str(v) for k, v in (await request.form()).items()}
    else:
        body = (await request.body()).decode()
    return JSONResponse({"method": request.method, "body": body})


async def hello(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("hi")
    await ws.close()


def guarded(root: Path, token: str | None = TOKEN, local: bool = True) -> Guard:
    """The real app with an extra route of every unsafe method and a websocket mounted."""
    app = create_app(root, token=token, local=local)
    app.app.state.calls = 0
    app.app.router.routes.append(
        Route("/extra", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    )
    app.app.router.routes.append(WebSocketRoute("/ws", hello))
    return app


def csrf_of(app: Guard) -> str:
    return app.app.state.server.csrf


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "runs").mkdir()
    return tmp_path / "runs"


def test_token_exchange_cookie_and_bearer(root: Path) -> None:
    app = guarded(root)
    c = TestClient(app, base_url=LOCAL, follow_redirects=False)
    for path in ("/", "/start", "/static/htmx.min.js", "/extra"):
        r = c.get(path)
        assert r.status_code == 403 and "token required" in r.text, path
    assert c.get("/?token=wrong-token").status_code == 403
    r = c.get(f"/runs/x?a=1&token={TOKEN}&b=2")
    assert r.status_code == 303 and r.headers["location"] == "/runs/x?a=1&b=2"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"ioa_token_8765={TOKEN};")  # named for this server's port
    low = cookie.lower()
    assert "httponly" in low and "samesite=strict" in low and "path=/" in low
    assert "secure" not in low  # plain http
    assert c.get("/").status_code == 200  # the cookie now
    assert TOKEN not in c.get("/start").text

    other_port = TestClient(app, base_url="http://127.0.0.1:9999", follow_redirects=False)
    other_port.cookies.set("ioa_token_8765", TOKEN)
    assert other_port.get("/").status_code == 403  # another server's cookie
    other_port.cookies.set("ioa_token_9999", TOKEN)
    assert other_port.get("/").status_code == 200

    bare = TestClient(app, base_url=LOCAL, follow_redirects=False)
    assert bare.get("/", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert bare.get("/", headers={"authorization": "Bearer nope"}).status_code == 403
    # the redirect never points off the site
    status, _, headers = raw(app, "GET", f"//evil.example/x?token={TOKEN}".encode(), [])
    assert status == 303 and headers[b"location"] == b"/evil.example/x"

    https = TestClient(guarded(root, local=False), base_url="https://gpu-box:8765")
    r = https.get(f"/?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303 and "; secure" in r.headers["set-cookie"].lower()


def test_loopback_host_check_and_headers(root: Path) -> None:
    c = TestClient(guarded(root, token=None), base_url=LOCAL)
    assert c.get("/").status_code == 200  # --no-token: loopback only
    assert c.get("/", headers={"host": "evil.example:8765"}).status_code == 400
    assert c.get("/", headers={"host": "127.evil.example"}).status_code == 400
    for host in ("localhost:8765", "[::1]:8765", "127.0.0.2:8765"):
        assert c.get("/", headers={"host": host}).status_code == 200, host
    head = c.get("/").headers
    assert "script-src 'self'" in head["content-security-policy"]
    assert head["x-frame-options"] == "DENY" and head["cache-control"] == "no-store"
    with pytest.raises(ValueError, match="needs a token"):
        create_app(root, token=None, local=False)


def raw(
    app: Guard, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> tuple[int, bytes, dict[bytes, bytes]]:
    """One request straight through ASGI, bytes as given: (status, body, headers)."""
    path, _, query = target.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path.decode("latin-1"),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8765"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8765),
    }
    sent: list[dict] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    # a thread of its own: another test's event loop (the browser's) may run in this one
    worker = threading.Thread(target=lambda: asyncio.run(app(scope, receive, send)))
    worker.start()
    worker.join()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], body, dict(start["headers"])


def test_malformed_credentials_are_4xx(root: Path) -> None:
    app = guarded(root)
    good = (b"cookie", f"ioa_token_8765={TOKEN}".encode())
    form = (b"content-type", b"application/x-www-form-urlencoded")
    cases = [
        ("GET", b"/?token=\xff\xfe\xc3", []),
        ("GET", b"/?token=%C3%A9%00", []),
        ("GET", b"/", [(b"cookie", b"ioa_token_8765=\xff\xfe\x80")]),
        ("GET", b"/", [(b"cookie", b"\x00\x01;;==;ioa_token_8765")]),
        ("GET", b"/", [(b"authorization", b"Bearer \xff\xfe\xc3\xa9")]),
        ("GET", b"/", [(b"authorization", b"Basic Zm9vOmJhcg==")]),
        ("GET", b"/", [(b"authorization", b"\x00garbage")]),
        ("GET", b"/", [(b"authorization", b"Bearer")]),
        ("POST", b"/extra", [good, (b"x-csrf-token", b"\xff\xfe\xc3\xa9")]),
        ("POST", b"/extra", [good, form], b"csrf=%FF%FE&x=1"),
        ("POST", b"/extra", [good, form], b"csrf=\xff\xfe\xc3\xa9"),
        ("POST", b"/extra", [good, (b"content-type", b"multipart/form-data; boundary=x")], b"\xff"),
    ]
    for method, target, headers, *body in cases:
        status, text, _ = raw(app, method, target, headers, *body)
        assert 400 <= status < 500, (target, headers, status, text)
    assert app.app.state.calls == 0  # no route ran
    ok = raw(app, "GET", b"/extra", [good])
    assert ok[0] == 200 and b'"GET"' in ok[1]


def test_every_unsafe_method_on_any_route_is_guarded(root: Path) -> None:
    """A POST route added to the real app after the fact: 403 without the CSRF token,
    through with it (form field or header), its body intact."""
    app = guarded(root)
    c = TestClient(app, base_url=LOCAL)
    c.get(f"/?token={TOKEN}")
    csrf = csrf_of(app)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        r = c.request(method, "/extra", data={"x": "1"})
        assert r.status_code == 403 and "CSRF" in r.text, method
    r = c.post("/extra", data={"x": "1", "csrf": "forged"})
    assert r.status_code == 403
    assert app.app.state.calls == 0

    r = c.post("/extra", data={"csrf": csrf, "plan": "stages:\n- a\n" * 200})
    assert r.status_code == 200
    assert r.json() == {"method": "POST", "body": {"csrf": csrf, "plan": "stages:\n- a\n" * 200}}
    r = c.put("/extra", content=b'{"a": [1, 2]}', headers={"x-csrf-token": csrf})
    assert r.json() == {"method": "PUT", "body": '{"a": [1, 2]}'}
    r = c.patch("/extra", files={"f": ("a.txt", b"abc")}, data={"csrf": csrf, "y": "2"})
    assert r.status_code == 200 and r.json()["body"]["y"] == "2"
    assert c.delete("/extra", headers={"x-csrf-token": csrf}).status_code == 200
    assert app.app.state.calls == 4

    # another site, even with the token: refused
    for extra in ({"origin": "http://evil.example"}, {"origin": "null"}):
        r = c.post("/extra", data={"csrf": csrf}, headers=extra)
        assert r.status_code == 403 and "cross-origin" in r.text
    r = c.post("/extra", data={"csrf": csrf}, headers={"sec-fetch-site": "cross-site"})
    assert r.status_code == 403
    r = c.post("/extra", data={"csrf": csrf}, headers={"origin": LOCAL})
    assert r.status_code == 200
    big = c.post("/extra", content=b"x" * (2 << 20), headers={"content-type": "text/plain"})
    assert big.status_code == 413
    # scripts holding the token in Authorization need no CSRF token (Jupyter's way)
    bare = TestClient(app, base_url=LOCAL)
    r = bare.post("/extra", content=b"hi", headers={"authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.json()["body"] == "hi"
    assert app.app.state.calls == 6

    # --no-token (loopback): the same CSRF rule
    open_app = guarded(root, token=None)
    o = TestClient(open_app, base_url=LOCAL)
    assert o.post("/extra", data={"x": "1"}).status_code == 403
    assert o.post("/extra", data={"csrf": csrf_of(open_app)}).status_code == 200


def test_websocket_needs_the_token_and_lifespan_passes(root: Path) -> None:
    app = guarded(root)
    seen: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        seen.append("up")
        yield
        seen.append("down")

    app.app.router.lifespan_context = lifespan
    with TestClient(app, base_url=LOCAL) as c:
        with pytest.raises(WebSocketDisconnect) as refused, c.websocket_connect(WS):
            pass
        assert refused.value.code == 1008
        with (
            pytest.raises(WebSocketDisconnect),
            c.websocket_connect(
                "/ws", headers={"authorization": f"Bearer {TOKEN}", "origin": "http://evil.example"}
            ),
        ):
            pass
        with c.websocket_connect(WS, headers={"authorization": f"Bearer {TOKEN}"}) as ws:
            assert ws.receive_text() == "hi"
        c.get(f"/?token={TOKEN}")
        with c.websocket_connect(WS) as ws:  # the cookie
            assert ws.receive_text() == "hi"
    assert seen == ["up", "down"]


def test_choose_token() -> None:
    token, source = choose_token("127.0.0.1", False, {})
    assert source == "generated" and len(token) >= 32
    assert choose_token("127.0.0.1", False, {})[0] != token
    assert choose_token("0.0.0.0", False, {TOKEN_ENV: TOKEN}) == (TOKEN, "env")
    assert choose_token("::1", True, {TOKEN_ENV: TOKEN}) == (None, "none")
    assert choose_token("127.0.0.2", True, {}) == (None, "none")
    with pytest.raises(ValueError, match="--no-token is refused on --host 0.0.0.0"):
        choose_token("0.0.0.0", True, {})
    for bad in ("short", "x" * 20 + " é", ""):
        with pytest.raises(ValueError, match=TOKEN_ENV):
            choose_token("127.0.0.1", False, {TOKEN_ENV: bad})


def test_cli_refuses_no_token_beyond_loopback(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["serve", "--runs", str(root), "--host", "0.0.0.0", "--no-token"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ioa: error: --no-token is refused on --host 0.0.0.0")
    assert err.count("\n") == 1
    monkeypatch.setenv(TOKEN_ENV, "weak")
    assert main(["serve", "--runs", str(root)]) == 2
    assert TOKEN_ENV in capsys.readouterr().err
    assert main(["serve", "--runs", str(root), "--configs", str(root / "none")]) == 2
    assert "is not a folder" in capsys.readouterr().err


@contextlib.contextmanager
def ioa_serve(root: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[tuple]:
    """The real `ioa serve` on a free port: (base url, its first stdout line, the process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    environ = {k: v for k, v in os.environ.items() if k != TOKEN_ENV} | (env or {})
    cmd = [sys.executable, "-m", "ioa_agent", "serve", "--runs", str(root)]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        cwd=ROOT,
    )
    try:
        first = proc.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/static/style.css", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.1)
        yield base, first, proc
    finally:
        proc.terminate()
        proc.wait(20)


def test_ioa_serve_prints_its_token_once(root: Path) -> None:
    with ioa_serve(root) as (base, first, proc):
        m = re.search(r"\?token=([A-Za-z0-9_-]+)$", first.strip())
        assert m and first.startswith("ioa serve: http://127.0.0.1:"), first
        token = m.group(1)
        port = base.rsplit(":", 1)[1]
        assert httpx.get(base + "/").status_code == 403  # loopback too
        r = httpx.get(f"{base}/?token={token}")
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert r.cookies[f"ioa_token_{port}"] == token
        assert httpx.get(base + "/", cookies={f"ioa_token_{port}": token}).status_code == 200
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert token not in out + err  # printed once, in the first line only
    for p in root.rglob("*"):
        assert not p.is_file() or token not in p.read_text(errors="replace"), p


def test_ioa_serve_token_from_env_and_no_token(root: Path) -> None:
    with ioa_serve(root, env={TOKEN_ENV: TOKEN}) as (base, first, proc):
        assert "?token=" not in first and TOKEN_ENV in first
        assert httpx.get(base + "/").status_code == 403
        auth = {"authorization": f"Bearer {TOKEN}"}
        assert httpx.get(base + "/", headers=auth).status_code == 200
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert TOKEN not in first + out + err
    with ioa_serve(root, "--no-token") as (base, first, proc):
        assert "?token=" not in first
        assert httpx.get(base + "/").status_code == 200
        r = httpx.get(base + "/", headers={"host": "evil.example"})
        assert r.status_code == 400  # loopback: local Host names only
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "warning: --no-token" in err
