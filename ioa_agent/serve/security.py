"""Who may use the page, and what it may do in a browser.

`Guard` is ASGI middleware in front of every route, static files included:

- Bound to 127.0.0.1 (the default), requests must name a local Host (127.0.0.1 or
  localhost: a page on another site cannot reach it through DNS rebinding).
- Bound to any other host, every request needs the token generated at start: as
  `?token=` once (answered with an HttpOnly, SameSite=Strict cookie and a redirect that
  drops it from the address), then the cookie, or an `Authorization: Bearer` header.
  Without it: 403. The token lives only in this process's memory.
- POSTs must carry the CSRF token of the forms (`csrf` field) and, when the browser
  sends one, an Origin equal to the page's own.
- Every answer carries a Content-Security-Policy allowing only the page's own scripts
  (no inline script runs even if some text escaped), no framing and no referrer
  to other sites.

Escaping is the templates' autoescape; run ids are checked in views.check_name.
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, RedirectResponse

COOKIE = "ioa_token"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def is_local(host: str) -> bool:
    return host in LOCAL_HOSTS


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _hostname(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header.split("]")[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class Guard:
    """Token, Host, CSRF and header checks (see the module docstring)."""

    def __init__(self, app: Any, token: str | None, csrf: str, local: bool) -> None:
        self.app, self.token, self.csrf, self.local = app, token, csrf, local

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        if self.local and _hostname(headers.get("host", "")) not in LOCAL_HOSTS:
            return await self._answer(PlainTextResponse("unknown host", 400), scope, receive, send)
        if self.token is not None:
            query = parse_qs(scope.get("query_string", b"").decode())
            given = query.get("token", [""])[0]
            if given and secrets.compare_digest(given, self.token):
                rest = {k: v for k, v in query.items() if k != "token"}
                to = scope["path"] + ("?" + urlencode(rest, doseq=True) if rest else "")
                resp = RedirectResponse(to, 303)
                resp.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
                return await self._answer(resp, scope, receive, send)
            if not self._has_token(headers):
                body = "token required: open the address `ioa serve` printed when it started"
                return await self._answer(PlainTextResponse(body, 403), scope, receive, send)
        if scope["method"] == "POST":
            origin = headers.get("origin")
            if origin and origin.split("://", 1)[-1] != headers.get("host", ""):
                return await self._answer(
                    PlainTextResponse("cross-origin form refused", 403), scope, receive, send
                )
        await self.app(scope, receive, self._with_headers(send))

    def _has_token(self, headers: Headers) -> bool:
        assert self.token is not None
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer ") and secrets.compare_digest(auth[7:], self.token):
            return True
        jar = SimpleCookie(headers.get("cookie", ""))
        got = jar[COOKIE].value if COOKIE in jar else ""
        return bool(got) and secrets.compare_digest(got, self.token)

    def check_csrf(self, value: str) -> bool:
        return bool(value) and secrets.compare_digest(value, self.csrf)

    async def _answer(self, resp: Any, scope: dict, receive: Any, send: Any) -> None:
        await resp(scope, receive, self._with_headers(send))

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
