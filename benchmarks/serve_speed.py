"""How fast `ioa serve` answers: a 20-round run's page, and Approve to the node changing.

Run: `python benchmarks/serve_speed.py [--rounds 20] [--repeats 5]
[--out docs/results/serve_speed.json]` (the browser figures need Debian's
chromium-headless-shell).

1. Page load of a run with `--rounds` rounds. A tiny real run (random-weight Llama,
   exact teacher, 2 rounds) is made, then its store is extended to `--rounds`
   assessed rounds through the store API (per-item assessments varied with the
   seed, gate and train events, training metrics), so the page has as many rounds,
   columns and figure points as a 20-round run. Timed: the run page's HTML from the
   server (httpx, cold then warm), and the whole page in headless Chromium (load
   event: HTML, CSS, htmx and both figures), the first load drawing the figures.
2. Approve to the node changing. Tiny runs paused at review (one per repeat): the pending
   page is opened in the browser, Approve is clicked, and the clock stops when the
   run page shows a node other than review. Also timed: when the checkpoint itself
   moved on (polled on disk), which splits the time between the child process
   starting and the page noticing (it polls every second while a run runs).

Prints the figures and writes them, with the command, config, seed, package
versions and machine, to `--out`.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import yaml  # noqa: E402

from ioa_agent.cli import main as ioa  # noqa: E402
from ioa_agent.drive import snapshot  # noqa: E402
from ioa_agent.results import markdown_table, write_results  # noqa: E402
from ioa_agent.run import find_run  # noqa: E402

CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium")


def tiny_config(model: Path, seed: int, **over: Any) -> dict[str, Any]:
    cfg = {
        "seed": seed,
        "max_rounds": 2,
        "max_cycles": 1,
        "student": {"model": str(model)},
        "identifier": {"probes_per_level": 2},
        "organizer": {"max_remedial": 1, "on_escalation": "move_on"},
        "adapter": {"seeds_per_module": 1, "j": 3},
        "train": {"steps_per_round": 2, "batch_size": 4, "max_length": 96, "learning_rate": 1e-3},
        "assess": {"batch_size": 64, "max_new_tokens": 12},
    }
    return {**cfg, **over}


def tiny_model(where: Path) -> Path:
    from ioa_agent.student.models import make_arithmetic_tiny_model

    return make_arithmetic_tiny_model(where / "model")


def new_run(root: Path, name: str, cfg: dict[str, Any]) -> Path:
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert ioa(["run", "--config", str(path), "--runs", str(root), "--name", name]) == 0
    return root / name


def extend_rounds(run_dir: Path, rounds: int, seed: int) -> None:
    """Assessed rounds 3..`rounds` written through the store API."""
    from ioa_agent.run import atomic_write_json

    run = find_run(run_dir.parent, run_dir.name)
    store = run.store
    rng = random.Random(seed)
    last = store.assessed_rounds()[-1]
    base = store.assessment(last)
    gate = next(e for e in store.events("gate") if e["payload"]["round"] == last)["payload"]
    for r in range(last + 1, rounds + 1):
        p = min(0.95, 0.05 * r)
        rows = [
            {k: v for k, v in row.items() if k != "round"} | {"correct": int(rng.random() < p)}
            for row in base
        ]
        store.save_assessment(r, rows)
        store.log_event(f"assess:{r}", "assess", "gate", {**gate, "round": r})
        loss = {"round": r, "steps": 2, "final_loss": 3.0 / r, "train_runtime": 1.0}
        store.log_event(f"train:{r}", "train", "train", loss)
        metrics = {"steps": 2, "train_runtime_s": 1.0, "final_loss": 3.0 / r}
        atomic_write_json(run.round_dir(r) / "adapter" / "metrics.json", metrics)
    store.close()


class Live:
    """The app on 127.0.0.1 and a free port, in a thread."""

    def __init__(self, root: Path) -> None:
        import uvicorn

        from ioa_agent.serve.app import create_app

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        cfg = uvicorn.Config(create_app(root), host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def page_load(live: Live, run_id: str, repeats: int, browser: Any, rounds: int) -> dict[str, Any]:
    import httpx

    out: dict[str, Any] = {}
    with httpx.Client(base_url=live.url) as c:
        t0 = time.perf_counter()
        assert c.get(f"/runs/{run_id}").status_code == 200
        out["html_cold_s"] = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            assert c.get(f"/runs/{run_id}").status_code == 200
            times.append(time.perf_counter() - t0)
        out["html_warm_median_s"] = statistics.median(times)
        t0 = time.perf_counter()
        assert c.get("/").status_code == 200
        out["runs_page_s"] = time.perf_counter() - t0
    if browser is not None:
        page = browser.new_page()
        loads = []
        for _ in range(repeats + 1):
            t0 = time.perf_counter()
            page.goto(f"{live.url}/runs/{run_id}", wait_until="load")
            loads.append(time.perf_counter() - t0)
            assert page.locator("#rounds tbody tr").count() >= rounds
        out["browser_first_load_s"] = loads[0]  # figures drawn on first request
        out["browser_load_median_s"] = statistics.median(loads[1:])
        page.close()
    return out


def approve_to_node(live: Live, root: Path, names: list[str], browser: Any) -> dict:
    from ioa_agent.serve import workers

    clicks, moved = [], []
    for name in names:
        run = find_run(root, name)
        before = snapshot(run).checkpoint
        page = browser.new_page()
        page.goto(f"{live.url}/runs/{name}/review")
        if page.locator("#approve").count() != 1:
            raise RuntimeError(f"no pending step for {name}: {page.content()[:2000]}")
        t0 = time.perf_counter()
        page.click("#approve")
        t_moved = None
        while True:
            if t_moved is None and snapshot(run).checkpoint != before:
                t_moved = time.perf_counter() - t0
            try:
                node = page.inner_text("#node", timeout=1000)
            except Exception:
                node = ""
            if node and node not in ("review", "-") and "/review" not in page.url:
                clicks.append(time.perf_counter() - t0)
                break
            assert time.perf_counter() - t0 < 180, "the node never changed"
            time.sleep(0.02)
        moved.append(t_moved if t_moved is not None else clicks[-1])
        page.close()
        workers.stop_all()  # the round itself is not what is measured
    return {
        "approve_to_page_node_change_s": clicks,
        "approve_to_page_node_change_median_s": statistics.median(clicks),
        "approve_to_checkpoint_moved_s": moved,
        "approve_to_checkpoint_moved_median_s": statistics.median(moved),
    }


def table(figures: dict[str, Any]) -> str:
    """serve_speed.json's table, from its figures."""
    rows = []
    rounds = figures["rounds"]
    load = figures.get("page_load", {})
    if load:
        rows.append(
            [
                f"{rounds}-round run page, server HTML (warm median / first)",
                f"{load['html_warm_median_s']:.3f} s / {load['html_cold_s']:.2f} s",
            ]
        )
        if "browser_load_median_s" in load:
            rows.append(
                [
                    "same page in headless Chromium with figures (median / first)",
                    f"{load['browser_load_median_s']:.2f} s / {load['browser_first_load_s']:.1f} s",
                ]
            )
    approve = figures.get("approve", {})
    if approve:
        rows.append(
            [
                "Approve clicked → page shows the next node (median)",
                f"{approve['approve_to_page_node_change_median_s']:.1f} s",
            ]
        )
        rows.append(
            [
                "Approve clicked → the run's checkpoint moved on (median)",
                f"{approve['approve_to_checkpoint_moved_median_s']:.1f} s",
            ]
        )
    return markdown_table(["what", "time"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--approve-repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="docs/results/serve_speed.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="serve-speed-"))
    root = work / "runs"
    root.mkdir()
    model = tiny_model(work)
    long_run = new_run(root, "long", tiny_config(model, args.seed))
    extend_rounds(long_run, args.rounds, args.seed)
    paused = tiny_config(model, args.seed, review="required", max_rounds=1)
    approve = [new_run(root, f"approve-{i}", paused).name for i in range(args.approve_repeats)]

    live = Live(root)
    results: dict[str, Any] = {}
    pw = browser = None
    try:
        if CHROMIUM:
            from playwright.sync_api import sync_playwright

            pw = sync_playwright().start()
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        results["page_load"] = page_load(live, "long", args.repeats, browser, args.rounds)
        if browser is not None:
            results["approve"] = approve_to_node(live, root, approve, browser)
    finally:
        if browser is not None:
            browser.close()
        if pw is not None:
            pw.stop()
        live.stop()
        shutil.rmtree(work, ignore_errors=True)

    config = {
        "rounds": args.rounds,
        "repeats": args.repeats,
        "approve_repeats": args.approve_repeats,
        "run": tiny_config(Path("<tiny random-weight Llama>"), args.seed),
    }
    figures = {"rounds": args.rounds, "browser": browser_version(), **results}
    write_results(Path(args.out), config=config, seed=args.seed, figures=figures, table=table)
    print(table(figures))
    print(f"wrote {args.out}")


def browser_version() -> str | None:
    if not CHROMIUM:
        return None
    import subprocess

    out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip() or None


if __name__ == "__main__":
    main()
