"""Who may use the page, and what a browser may do with it: `Guard`, ASGI middleware
in front of every route, static files included. Jupyter's token model.

- A token on every bind, loopback too: random at start (printed once, in the URL), or
  `$IOA_SERVE_TOKEN` for scripts (never printed). `--no-token` only on a loopback bind,
  with a warning (`choose_token`). The token lives in this process's memory only.
- A GET with `?token=` is answered with an HttpOnly, SameSite=Strict cookie named for
  this server's port (`ioa_token_<port>`; `Secure` over https) and a redirect that drops
  the token from the address. Afterwards the cookie, or `Authorization: Bearer TOKEN`.
  Without it: 403. Malformed credentials (non-ASCII, garbage headers) get a 4xx: the
  secrets are compared as bytes and parsing errors are caught.
- Bound to loopback, requests must name a local Host (DNS rebinding).
- Every unsafe method (anything but GET, HEAD, OPTIONS), on any route, present or
  added later, needs an Origin equal to the page's own when the browser sends one and
  the CSRF token of the pages: the `X-CSRF-Token` header or the `csrf` form field (the
  body is read here, at most 1 MiB, and replayed to the route). A request carrying
  the token in `Authorization` needs no CSRF token (a browser cannot forge that header).
- WebSocket connections pass the same Host, Origin and token checks or are closed;
  lifespan passes; other ASGI scopes are dropped.
- Every answer carries a Content-Security-Policy allowing only the page's own scripts,
  no framing and no referrer to other sites.

Escaping is the templates' autoescape; run ids are checked in views.check_name. What
a started run may do is serve/policy.py's.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.responses import PlainTextResponse, RedirectResponse

TOKEN_ENV = "IOA_SERVE_TOKEN"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_BODY = 1 << 20
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
TOKEN_RE = re.compile(r"^[A-Za-z0-9._~-]{16,256}$")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
NO_TOKEN = "token required: open the address `ioa serve` printed when it started"


def is_local(host: str) -> bool:
    """Whether `host` (a --host value) is a loopback address or name."""
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


def choose_token(host: str, no_token: bool, environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The server's token and where it came from: "env", "generated" or "none".

    ValueError (one line, what to do) for `--no-token` on a non-loopback bind and for
    a malformed `$IOA_SERVE_TOKEN`.
    """
    if no_token:
        if not is_local(host):
            raise ValueError(
                f"--no-token is refused on --host {host}: without a token anyone who reaches "
                "the port can start runs; bind 127.0.0.1 or drop --no-token"
            )
        return None, "none"
    given = environ.get(TOKEN_ENV)
    if given is None:
        return new_token(), "generated"
    if not TOKEN_RE.match(given):
        raise ValueError(
            f"{TOKEN_ENV} must be 16 to 256 letters, digits, '.', '_', '~' or '-' "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')"
        )
    return given, "env"


def cookie_name(scope: Mapping[str, Any]) -> str:
    """The token cookie's name: scoped to the port this server listens on."""
    server = scope.get("server") or ("", 0)
    return f"ioa_token_{server[1] or 0}"


def same_secret(given: str | bytes | None, secret: bytes) -> bool:
    """Constant-time equality as bytes; anything that does not encode is just unequal."""
    if not given or not secret:
        return False
    try:
        raw = given if isinstance(given, bytes) else given.encode("utf-8")
    except UnicodeError:
        return False
    return hmac.compare_digest(raw, secret)


def _hostname(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header.split("]")[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class Refused(Exception):
    """A request the guard answers itself, with a status and one line."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


class Guard:
    """Token, Host, Origin, CSRF and header checks (see the module docstring)."""

    def __init__(self, app: Any, token: str | None, csrf: str, local: bool) -> None:
        if token is None and not local:
            raise ValueError("a server bound beyond loopback needs a token")
        self.app, self.local = app, local
        self.token = token.encode() if token is not None else None
        self.csrf = csrf.encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            return await self.app(scope, receive, send)
        if kind not in ("http", "websocket"):
            return None
        try:
            receive, resp = await self._check(scope, receive)
        except Refused as why:
            if kind == "websocket":
                await receive()  # websocket.connect; closing before accept answers 403
                return await send({"type": "websocket.close", "code": 1008})
            resp = PlainTextResponse(why.text, why.status)
        except (UnicodeError, ValueError, KeyError, IndexError, TypeError):
            resp = PlainTextResponse("malformed request", 400)
        if resp is not None:
            return await resp(scope, receive, self._with_headers(send))
        if kind == "websocket":
            return await self.app(scope, receive, send)
        await self.app(scope, receive, self._with_headers(send))

    async def _check(self, scope: dict, receive: Any) -> tuple[Any, Any]:
        """The receive to hand the route (the body replayed when it was read) and the
        response the guard gives itself (the token exchange), or Refused."""
        headers = Headers(scope=scope)
        self._check_host(headers)
        if scope["type"] == "websocket":
            self._check_origin(headers)
            self._authenticated(scope, headers)
            return receive, None
        if self._exchange(scope, headers):
            return receive, self._redirect(scope)
        by_header = self._authenticated(scope, headers)
        if scope["method"] not in SAFE_METHODS:
            self._check_origin(headers)
            if not by_header:
                receive = await self._check_csrf(scope, headers, receive)
        return receive, None

    # the checks ---------------------------------------------------------------------
    def _check_host(self, headers: Headers) -> None:
        if self.local and not is_local(_hostname(headers.get("host", ""))):
            raise Refused(400, "unknown host")

    @staticmethod
    def _check_origin(headers: Headers) -> None:
        origin = headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != headers.get("host", ""):
            raise Refused(403, "cross-origin request refused")
        if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            raise Refused(403, "cross-site request refused")

    def _query_token(self, scope: dict) -> str | None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return query["token"][0] if "token" in query else None

    def _exchange(self, scope: dict, headers: Headers) -> bool:
        """True for a GET carrying the right `?token=`; Refused for a wrong one."""
        if self.token is None or scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return False
        given = self._query_token(scope)
        if given is None:
            return False
        if not same_secret(given, self.token):
            raise Refused(403, "wrong token: open the address `ioa serve` printed when it started")
        return True

    def _redirect(self, scope: dict) -> RedirectResponse:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        rest = {k: v for k, v in query.items() if k != "token"}
        path = "/" + scope["path"].lstrip("/")  # never //other.host
        resp = RedirectResponse(path + ("?" + urlencode(rest, doseq=True) if rest else ""), 303)
        assert self.token is not None
        resp.set_cookie(
            cookie_name(scope),
            self.token.decode(),
            httponly=True,
            samesite="strict",
            secure=scope.get("scheme") == "https",
        )
        return resp

    def _authenticated(self, scope: dict, headers: Headers) -> bool:
        """Refused unless the request carries the token; True when by Authorization."""
        if self.token is None:
            return False
        auth = headers.get("authorization")
        if auth is not None:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() == "bearer" and same_secret(value.strip(), self.token):
                return True
            raise Refused(403, "wrong token in the Authorization header")
        jar = cookie_parser(headers.get("cookie", ""))
        if same_secret(jar.get(cookie_name(scope)), self.token):
            return False
        if scope["type"] == "websocket" and same_secret(self._query_token(scope), self.token):
            return False
        raise Refused(403, NO_TOKEN)

    async def _check_csrf(self, scope: dict, headers: Headers, receive: Any) -> Any:
        """Refused unless the CSRF token is sent; the receive that replays the body."""
        if same_secret(headers.get(CSRF_HEADER), self.csrf):
            return receive
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                raise Refused(400, "the request ended before its body")
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                raise Refused(413, "request body too large")
        replay = _replay(body, receive)
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        given: Any = None
        if ctype == "application/x-www-form-urlencoded":
            given = parse_qs(body.decode("latin-1")).get("csrf", [None])[0]
        elif ctype == "multipart/form-data":
            try:
                form = await Request(scope, _replay(body, receive)).form()
            except Exception as exc:  # python-multipart's errors, whatever their class
                raise Refused(400, "malformed form") from exc
            given = form.get("csrf")
            await form.close()
        if not isinstance(given, str) or not same_secret(given, self.csrf):
            raise Refused(403, "the form has expired: reload the page (CSRF token missing)")
        return replay

    # answering --------------------------------------------------------------------
    @staticmethod
    def _with_headers(send: Any) -> Any:
        async def wrapped(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {
                    b"content-security-policy": CSP.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"same-origin",
                    b"cache-control": b"no-store",
                }
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        return wrapped


def _replay(body: bytes, receive: Any) -> Any:
    """A receive that hands the route the body already read, then the real one."""
    sent = False

    async def again() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again
