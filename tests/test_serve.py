"""`ioa serve` routes through Starlette's test client, against real run directories.

A tiny real run paused at review, a finished one and one that failed (its student
model vanished before training): the pages show what the runs hold, the pending
step's forms validate like `ioa review`, an answer resumes the run in a background
process holding the run's lock, stale and concurrent answers are refused, and the
access rules (token, Host, CSRF, run ids, escaping) hold. The Guard's own rules
are in test_serve_guard.py, what a started run may do in test_serve_policy.py, and
watching without blocking in test_serve_watch.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from serve_runs import built_runs, client, fresh_runs, poison_samples, wait_free

from ioa_agent.cli import main
from ioa_agent.drive import snapshot
from ioa_agent.probe_scores import paired_by_module
from ioa_agent.run import find_run
from ioa_agent.serve import workers


@pytest.fixture(scope="module")
def built(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return built_runs(tiny_model, tmp_path_factory)


@pytest.fixture
def runs(built: dict[str, Path], tmp_path: Path) -> Path:
    yield fresh_runs(built, tmp_path)
    workers.stop_all()


def form_of(html: str) -> dict[str, str]:
    return {
        "csrf": re.search(r'name="csrf" value="([^"]+)"', html).group(1),
        "checkpoint": re.search(r'name="checkpoint" value="([^"]+)"', html).group(1),
    }


def test_runs_and_run_pages_show_real_runs(runs: Path) -> None:
    c = client(runs)
    page = c.get("/")
    assert page.status_code == 200
    text = page.text
    assert 'href="/runs/paused"' in text and 'href="/runs/finished"' in text
    assert "waiting for review" in text and ">done<" in text
    assert 'src="/static/htmx.min.js"' in text

    fin = find_run(runs, "finished")
    snap = snapshot(fin)
    run = c.get("/runs/finished").text
    for m in snap.values["p_t"]:
        assert m in run
    assert 'id="ratios"' in run and 'id="rounds"' in run and 'id="spend"' in run
    assert "r0" in run and "r2" in run  # P_S/P_T at every round
    # each module's paired change on the same probes, as the run's own figures count it
    last = fin.store.assessed_rounds()[-1]
    for m, c_m in paired_by_module(fin, last).items():
        assert f"(+{c_m['gained']} / −{c_m['lost']} of {c_m['n']} items)" in run, m
    assert 'href="/runs/finished/report"' in run and "built-in method" not in run
    for name in ("dag", "trajectories"):
        fig = c.get(f"/runs/finished/fig/{name}.png")
        assert fig.status_code == 200 and fig.content[:4] == b"\x89PNG"
    report = c.get("/runs/finished/report")
    assert report.status_code == 200 and "finished" in report.text
    assert "script-src" not in report.headers["content-security-policy"]
    status = c.get("/runs/finished/status").text
    assert "assess" in status and 'id="node"' in status

    # the paused run: the untrained student's round 0, and a link to its pending step
    paused = c.get("/runs/paused").text
    assert "r0" in paused and 'href="/runs/paused/review"' in paused
    assert c.get("/runs/paused/fig/dag.png").content[:4] == b"\x89PNG"
    assert c.get("/runs/paused/fig/other.png").status_code == 404


def test_pending_step_forms_validate_and_keep_text(runs: Path) -> None:
    c = client(runs)
    run = find_run(runs, "paused")
    before = snapshot(run)
    args = before.interrupt["action_requests"][0]["args"]
    page = c.get("/runs/paused/review")
    assert page.status_code == 200
    for s in args["skills"]:
        assert s["skill"] in page.text and s["sample"].split()[0] in page.text
    assert "◀ this step" in page.text and 'id="approve"' in page.text
    f = form_of(page.text)
    assert f["checkpoint"] == before.checkpoint

    bad = "stages:\n- skills: [arithmetic/nope@1]\n"
    r = c.post("/runs/paused/review", data={**f, "action": "edit", "plan": bad})
    assert r.status_code == 400
    assert "unknown module" in r.text and "arithmetic/nope" in r.text
    assert re.search(r'<textarea name="plan"[^>]*>stages:\n- skills: \[arithmetic/nope@1\]', r.text)
    r = c.post("/runs/paused/review", data={**f, "action": "reject", "feedback": "make it fun"})
    assert r.status_code == 400 and "not understood" in r.text and "make it fun" in r.text
    r = c.post("/runs/paused/review", data={**f, "csrf": "forged", "action": "approve"})
    assert r.status_code == 403
    r = c.post("/runs/paused/review", data={**f, "checkpoint": "other", "action": "approve"})
    assert r.status_code == 409 and "already answered" in r.text
    assert snapshot(run).checkpoint == before.checkpoint  # nothing moved

    # reject with "split": re-planned in the background, asked again
    r = c.post("/runs/paused/review", data={**f, "action": "reject", "feedback": "split"})
    assert r.status_code == 303 and r.headers["location"] == "/runs/paused"
    # a second browser answering the same step: already answered (busy or moved on)
    r2 = c.post("/runs/paused/review", data={**f, "action": "approve"})
    assert r2.status_code == 409 and "already answered" in r2.text
    wait_free(run.dir)
    again = snapshot(run)
    assert again.checkpoint != before.checkpoint
    head = args["stages"][0]["skills"]
    new_args = again.interrupt["action_requests"][0]["args"]
    assert new_args["stages"][0]["skills"] == head[:1]
    r3 = c.post("/runs/paused/review", data={**f, "action": "approve"})
    assert r3.status_code == 409 and "already answered" in r3.text

    # an edited plan (YAML) goes through and is taught
    module = new_args["stages"][0]["skills"][0].rsplit("@", 1)[0]
    f = form_of(c.get("/runs/paused/review").text)
    plan = yaml.safe_dump({"stages": [{"skills": [f"{module}@2"]}]})
    r = c.post("/runs/paused/review", data={**f, "action": "edit", "plan": plan})
    assert r.status_code == 303
    wait_free(run.dir)
    done = snapshot(run)
    assert done.done and done.values["curriculum"]["stages"][-1]["skills"] == [f"{module}@2"]
    kinds = [e["payload"]["answer"]["action"] for e in run.store.events("review")]
    assert kinds == ["reject", "edit"]
    log = (runs / ".serve-logs" / "paused.log").read_text()
    assert log.count("--- exit 0") == 2
    assert "waiting for review" not in c.get("/").text.split("paused")[1].split("</tr>")[0]


def test_answer_refused_while_another_process_advances(runs: Path) -> None:
    c = client(runs)
    run = find_run(runs, "paused")
    hold = (
        "import sys, time\nfrom ioa_agent.lock import run_lock\n"
        "with run_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", hold, str(run.dir)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"held"
        listing = c.get("/").text
        assert f"pid {proc.pid}" in listing and "running" in listing
        f = form_of(c.get("/runs/paused/review").text)
        r = c.post("/runs/paused/review", data={**f, "action": "approve"})
        assert r.status_code == 409 and "already answered" in r.text
        r = c.post("/runs/paused/resume", data={"csrf": f["csrf"]})
        assert r.status_code == 409 and f"process {proc.pid}" in r.text
    finally:
        proc.kill()
        proc.wait()
    assert snapshot(run).interrupt is not None  # nothing advanced


def test_web_answer_holds_the_lock_until_killed(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The child advancing a web answer holds the run: a terminal `ioa resume` or
    `ioa review --approve` is refused naming it; after `kill -9` the next one proceeds."""
    import os
    import signal

    c = client(runs)
    run = find_run(runs, "paused")
    f = form_of(c.get("/runs/paused/review").text)
    assert c.post("/runs/paused/review", data={**f, "action": "approve"}).status_code == 303
    (child,) = workers.running()
    capsys.readouterr()
    for cmd in (["resume", "paused"], ["review", "paused", "--approve"]):
        assert main([*cmd, "--runs", str(runs)]) == 2
        err = capsys.readouterr().err
        assert f"process {child.pid}" in err and err.count("\n") == 1
    deadline = time.monotonic() + 120  # kill it mid-round, once it has written data
    while not (run.dir / "rounds" / "0001" / "train.jsonl").is_file():
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    os.kill(child.pid, signal.SIGKILL)
    workers.wait_all(60)
    assert main(["resume", "paused", "--runs", str(runs)]) == 0
    assert snapshot(run).done


def test_failed_run_shows_its_error_and_resumes(runs: Path, tmp_path: Path) -> None:
    run = find_run(runs, "paused")
    cfg = yaml.safe_load((run.dir / "config.yaml").read_text())
    model = Path(cfg["student"]["model"])
    moved = tmp_path / "model-elsewhere"
    shutil.copytree(model, moved)
    cfg["student"]["model"] = str(tmp_path / "gone")
    (run.dir / "config.yaml").write_text(yaml.safe_dump(cfg))
    c = client(runs)
    f = form_of(c.get("/runs/paused/review").text)
    assert c.post("/runs/paused/review", data={**f, "action": "approve"}).status_code == 303
    wait_free(run.dir)
    snap = snapshot(run)
    assert not snap.done and snap.interrupt is None and snap.next  # stopped mid-way
    listing = c.get("/").text
    assert "failed" in listing and "gone" in listing  # the error line names the model
    page = c.get("/start").text
    assert 'action="/runs/paused/resume"' in page

    # fix the config, resume from the page: the run finishes
    cfg["student"]["model"] = str(moved)
    (run.dir / "config.yaml").write_text(yaml.safe_dump(cfg))
    r = c.post("/runs/paused/resume", data={"csrf": f["csrf"]})
    assert r.status_code == 303
    wait_free(run.dir)
    assert snapshot(run).done


def test_start_page_validates_and_starts(runs: Path, tmp_path: Path) -> None:
    c = client(runs)
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/start").text).group(1)
    r = c.post("/start", data={"csrf": csrf, "config": str(runs / "none.yaml")})
    assert r.status_code == 400 and "is not a .yaml file" in r.text
    bad = runs / "bad.yaml"  # the runs folder is one the page may start runs from
    bad.write_text("organizer:\n  tau_mastery: 2\n")
    r = c.post("/start", data={"csrf": csrf, "config": str(bad), "name": "x"})
    assert r.status_code == 400 and "organizer.tau_mastery" in r.text
    cfg = yaml.safe_load((runs / "paused" / "config.yaml").read_text())
    good = runs / "good.yaml"
    good.write_text(yaml.safe_dump(cfg))
    outside = tmp_path / "good.yaml"
    outside.write_text(yaml.safe_dump(cfg))
    r = c.post("/start", data={"csrf": csrf, "config": str(outside), "name": "fresh"})
    assert r.status_code == 400 and "outside the folders" in r.text
    r = c.post("/start", data={"csrf": csrf, "config": str(good), "name": "../evil"})
    assert r.status_code == 400 and "not a run id" in r.text
    r = c.post("/start", data={"csrf": csrf, "config": str(good), "name": "fresh"})
    assert r.status_code == 303 and r.headers["location"] == "/runs/fresh"
    wait_free(runs / "fresh")
    assert snapshot(find_run(runs, "fresh")).interrupt is not None  # review: required


def test_token_host_csrf_and_names(runs: Path) -> None:
    c = client(runs, token="s3cret-token", local=False)
    for path in ("/", "/runs/paused", "/runs/paused/review", "/static/htmx.min.js", "/start"):
        r = c.get(path)
        assert r.status_code == 403 and "token required" in r.text
    assert c.post("/runs/paused/review", data={"action": "approve"}).status_code == 403
    assert c.get("/", headers={"authorization": "Bearer wrong"}).status_code == 403
    assert c.get("/", headers={"authorization": "Bearer s3cret-token"}).status_code == 200
    r = c.get("/runs/paused?token=s3cret-token")
    assert r.status_code == 303 and r.headers["location"] == "/runs/paused"
    assert r.headers["set-cookie"].startswith("ioa_token_8765=s3cret-token;")
    assert "httponly" in r.headers["set-cookie"].lower()
    assert "samesite=strict" in r.headers["set-cookie"].lower()
    assert c.get("/runs/paused").status_code == 200  # the cookie now
    assert "s3cret-token" not in c.get("/runs/paused/review").text
    for p in runs.rglob("*"):
        if p.is_file() and p.suffix not in (".db", ".safetensors", ".bin", ".png"):
            assert "s3cret-token" not in p.read_text(errors="replace"), p

    local = client(runs)
    assert local.get("/", headers={"host": "evil.example:8765"}).status_code == 400
    assert local.get("/runs/..%2F..%2Fetc").status_code == 404
    assert local.get("/runs/no%20such").status_code == 404
    assert local.get("/runs/nope/review").status_code == 404
    f = form_of(local.get("/runs/paused/review").text)
    r = local.post(
        "/runs/paused/review",
        data={**f, "action": "approve"},
        headers={"origin": "http://evil.example"},
    )
    assert r.status_code == 403
    head = local.get("/").headers
    assert "script-src 'self'" in head["content-security-policy"]
    assert head["x-frame-options"] == "DENY"


def test_item_text_is_escaped(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = find_run(runs, "paused")
    evil = "<script>window.pwned=1</script><img src=x onerror=alert(1)> "
    poison_samples(run.dir, evil)
    assert main(["review", "paused", "--runs", str(runs), "--reject", "harder"]) == 0
    capsys.readouterr()
    args = snapshot(run).interrupt["action_requests"][0]["args"]
    assert args["skills"][0]["sample"].startswith("<script>")
    page = client(runs).get("/runs/paused/review").text
    assert "<script>window.pwned" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert main(["review", "paused", "--runs", str(runs)]) == 0
    assert "<script>window.pwned=1</script>" in capsys.readouterr().out  # literal on a terminal


def test_renderings_shown_when_recorded(runs: Path) -> None:
    """The Adapter's rendering choices (events of kind "renderings"), when present."""
    c = client(runs)
    # a real run records the Adapter's choices, and the page shows them
    assert find_run(runs, "finished").store.events("renderings")
    assert 'id="renderings"' in c.get("/runs/finished").text
    run = find_run(runs, "paused")
    skill = snapshot(run).interrupt["action_requests"][0]["args"]["stages"][0]["skills"][0]
    module = skill.rsplit("@", 1)[0]
    scores = {
        "plain": {"s_aq": 0.41, "s_a": 0.52, "ifd": 0.788, "n": 4},
        "<b>steps</b>": {"s_aq": 0.2, "s_a": 0.6, "ifd": 0.333, "n": 4},
    }
    payload = {
        "round": 0,
        "rule": "max_ifd",
        "groups": [{"module": module, "level": 1, "scores": scores, "picked": "plain"}],
    }
    for name in ("finished", "paused"):
        find_run(runs, name).store.log_event("render:0", "adapt", "renderings", payload)
    page = c.get("/runs/finished").text
    assert 'id="renderings"' in page and "max_ifd" in page and "0.788" in page
    assert "plain ✔" in page and "&lt;b&gt;steps&lt;/b&gt;" in page
    # the pending step shows the last choice for its modules (payload built at review)
    assert main(["review", "paused", "--runs", str(runs), "--reject", "harder"]) == 0
    args = snapshot(run).interrupt["action_requests"][0]["args"]
    assert {r["rendering"] for r in args["renderings"]} == {"plain", "<b>steps</b>"}
    pending = c.get("/runs/paused/review").text
    assert 'id="renderings"' in pending and "plain ✔" in pending and "0.520" in pending
