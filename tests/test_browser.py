"""`ioa serve` in a real browser: headless Chromium (Debian's chromium-headless-shell)
driven by pytest-playwright, against a live server and real tiny runs.

The server runs as `ioa serve` does, with a token on its loopback bind: the first
visit with `?token=` leaves an HttpOnly, SameSite=Strict cookie for that port and a
clean address, without it every page is refused. Signed in that way, reject a step
with "split", see it re-planned, approve it and see the run reach adapt (the forms'
CSRF token through the Guard); untrusted item text (`<script>`, `<img onerror>`,
`javascript:` links) is shown as text and runs nothing; an edit naming an unknown
module shows the error and keeps the text. Skipped (with the reason) where the
browser or playwright is missing; `.ci/run` installs both.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from serve_runs import copy_run, make_paused, poison_samples, wait_free

from ioa_agent.cli import main
from ioa_agent.drive import snapshot
from ioa_agent.run import find_run
from ioa_agent.serve import workers
from ioa_agent.serve.app import create_app

CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium")
TOKEN = "browser-token-0123456789"
# the README's picture of the pending-step page, rewritten only when asked
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "serve-pending.png"
UPDATE_SCREENSHOT = bool(os.environ.get("IOA_UPDATE_SCREENSHOT"))

try:
    import playwright  # noqa: F401
except ImportError:  # pragma: no cover - depends on the machine
    CHROMIUM = None
if CHROMIUM is None and os.environ.get("IOA_REQUIRE_BROWSER"):  # CI must run them
    raise RuntimeError("IOA_REQUIRE_BROWSER is set but chromium-headless-shell is missing")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no system Chromium (apt-get install chromium-headless-shell) or no playwright",
)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ["--no-sandbox"]}


@pytest.fixture(scope="module")
def built(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_paused(tmp_path_factory.mktemp("built"), tiny_model)


@pytest.fixture
def runs(built: Path, tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "runs"
    root.mkdir()
    copy_run(built, root, "paused")
    yield root
    workers.stop_all()


def live(root: Path, **kw) -> Iterator[str]:
    """A real server on 127.0.0.1 and a free port, stopped afterwards."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(root, **kw), host="127.0.0.1", port=port, log_level="warning")
    )
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        t.join(10)


def wait_until(page, ok, timeout: float = 120) -> None:
    """Poll the page (the page refreshes itself) until `ok()`; the page's CSP forbids
    the eval behind playwright's wait_for_function."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ok():
                return
        except Exception:  # the fragment is being swapped
            pass
        assert time.monotonic() < deadline, "the page did not show the change"
        page.wait_for_timeout(100)


@pytest.fixture
def url(runs: Path, page) -> Iterator[str]:
    """A live server with a token, and the page signed in (the token exchanged)."""
    for base in live(runs, token=TOKEN):
        page.goto(f"{base}/?token={TOKEN}")
        assert page.url == base + "/"
        yield base


def test_reject_split_then_approve_reaches_adapt(page, url: str, runs: Path) -> None:
    run = find_run(runs, "paused")
    # from the terminal first: drop the single-module stage, so the head has several
    first = snapshot(run).interrupt["action_requests"][0]["args"]["stages"]
    skip = first[0]["skills"][0].rsplit("@", 1)[0]
    assert main(["review", "paused", "--runs", str(runs), "--reject", f"skip {skip}"]) == 0
    first = snapshot(run).interrupt["action_requests"][0]["args"]["stages"]
    head = first[0]["skills"]
    assert len(head) > 1
    page.goto(url + "/")
    page.click("a[href='/runs/paused']")
    assert page.inner_text("#state") == "waiting for review"
    page.click("#answer-link")
    page.fill("#feedback", "split")
    page.click("#reject")
    page.wait_for_url(url + "/runs/paused")
    # the page refreshes itself: the re-planned step waits for review again
    wait_until(
        page,
        lambda: (
            page.inner_text("#state") == "waiting for review"
            and "organize" in page.inner_text("#steps")
        ),
    )
    page.click("#answer-link")
    current = page.inner_text("#stages tr.current")
    assert head[0] in current and all(m not in current for m in head[1:])
    rows = page.locator("#stages tbody tr").count()
    assert rows == len(first) + len(head) - 1
    shot = page.screenshot(full_page=True)
    assert shot.startswith(b"\x89PNG")
    if UPDATE_SCREENSHOT:
        SCREENSHOT.write_bytes(shot)

    page.click("#approve")
    page.wait_for_url(url + "/runs/paused")
    wait_until(page, lambda: "adapt" in page.inner_text("#steps"))
    wait_free(run.dir)
    kinds = [e["payload"]["answer"]["action"] for e in run.store.events("review")]
    assert kinds == ["reject", "reject", "approve"]
    assert (run.dir / "rounds" / "0001" / "train.jsonl").is_file()


def test_untrusted_item_text_is_shown_as_text(page, url: str, runs: Path) -> None:
    evil = (
        '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
        '<a href="javascript:window.pwned=3" id="evil">x</a> '
    )
    poison_samples(runs / "paused", evil)
    assert main(["review", "paused", "--runs", str(runs), "--reject", "harder"]) == 0
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url + "/runs/paused/review")
    sample = page.inner_text("#scores tbody tr td.sample")
    assert sample.startswith(evil.strip())
    assert page.evaluate("window.pwned") is None
    assert page.locator("#scores img").count() == 0 and page.locator("main script").count() == 0
    assert page.locator("#evil").count() == 0 and page.locator("a[href^='javascript']").count() == 0
    assert dialogs == []


def test_bad_edit_shows_error_and_keeps_text(page, url: str, runs: Path) -> None:
    before = snapshot(find_run(runs, "paused")).checkpoint
    typed = yaml.safe_dump({"stages": [{"skills": ["arithmetic/nope@1"]}]})
    page.goto(url + "/runs/paused/review")
    page.fill("#plan", typed)
    page.click("#edit")
    assert "unknown module 'arithmetic/nope'" in page.inner_text("#form-error")
    assert page.input_value("#plan") == typed
    assert snapshot(find_run(runs, "paused")).checkpoint == before


def test_token_required_on_every_page(page, runs: Path) -> None:
    for base in live(runs, token=TOKEN):  # loopback, as `ioa serve` binds by default
        for path in ("/", "/runs/paused", "/runs/paused/review", "/start", "/static/htmx.min.js"):
            resp = page.goto(base + path)
            assert resp is not None and resp.status == 403, path
            assert "token required" in page.content()
        resp = page.goto(base + "/runs/paused?token=wrong-token-0123456789")
        assert resp is not None and resp.status == 403
        page.goto(f"{base}/runs/paused?token={TOKEN}")
        assert page.url == base + "/runs/paused"  # the token left the address bar
        assert page.inner_text("#state") == "waiting for review"
        (cookie,) = page.context.cookies()
        port = base.rsplit(":", 1)[1]
        assert cookie["name"] == f"ioa_token_{port}" and cookie["value"] == TOKEN
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
        assert page.evaluate("document.cookie") == ""  # scripts cannot read it
        page.goto(base + "/")
        assert "paused" in page.inner_text("#runs")
        page.click("a[href='/start']")  # a form from the page passes the Guard's CSRF check
        page.fill("#config", "/etc/passwd.yaml")
        page.click("#start")
        assert "is not a .yaml file" in page.inner_text("#form-error")
