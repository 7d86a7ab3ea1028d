"""`ioa serve`: a small web app to watch runs and answer their curriculum steps.

Starlette routes rendering Jinja2 templates (autoescaped: item text comes from an
LLM teacher and is untrusted), htmx from the package's static folder (no CDN) for
the parts that refresh themselves. Pages: the runs, one run (views.detail), its
pending step with the approve / reject / edit forms (read and validated through
review_answers.py, like `ioa review`), and start/resume. Answers, resumes and starts run
in background processes (workers.py); a run starts only from a config the page may
use (policy.py). Watching reads runs read-only without their lock (reading.py);
figures and reports are cached under `<runs>/.serve-figures/`. Access rules (token,
CSRF, Origin) are security.Guard's, for every route. The app keeps no state of its
own beyond the runs on disk.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ioa_agent.config import ConfigError
from ioa_agent.lock import RunBusy
from ioa_agent.organizer.plan_edits import PlanError
from ioa_agent.report import figures
from ioa_agent.report.data import gather
from ioa_agent.report.html import write_report
from ioa_agent.serve import policy, reading, views, workers
from ioa_agent.serve.security import REPORT_CSP, Guard

STATIC = Path(__file__).parent / "static"
FIGURES = ("dag", "trajectories")


def _fmt(x: Any, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _mastery_class(ratio: float | None, tau: float) -> str:
    if ratio is None:
        return ""
    return "m-hi" if ratio >= tau else ("m-mid" if ratio >= tau / 2 else "m-lo")


class Server:
    """The routes, bound to one runs root."""

    def __init__(
        self, root: Path, token: str | None, local: bool, configs: list[Path] | None
    ) -> None:
        self.root = Path(root)
        self.config_dirs = policy.allowed_dirs(self.root, configs)
        self.csrf = secrets.token_urlsafe(24)
        self.guard_args = {"token": token, "csrf": self.csrf, "local": local}
        self.env = Environment(
            loader=PackageLoader("ioa_agent.serve", "templates"),
            autoescape=select_autoescape(["html", "j2"], default=True),
        )
        self.env.filters["fmt"] = _fmt
        self.env.globals.update(csrf=self.csrf, mastery=_mastery_class)
        self.figdir = self.root / views.FIGURE_DIR
        self.draw_lock = threading.Lock()

    # helpers ----------------------------------------------------------------------
    def page(self, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(template).render(**ctx), status)

    def problem(self, message: str, status: int, run_id: str = "") -> HTMLResponse:
        return self.page("problem.html.j2", status, message=message, run_id=run_id)

    def run_path(self, request: Request) -> Path | None:
        try:
            return views.run_dir(self.root, request.path_params["run_id"])
        except views.BadName:
            return None

    @staticmethod
    async def form(request: Request) -> dict[str, str]:
        """The posted form (its CSRF token was checked by the Guard)."""
        form = await request.form()
        return {k: str(v) for k, v in form.items()}

    # pages ------------------------------------------------------------------------
    def runs(self, request: Request) -> Response:
        rows = views.list_runs(self.root)
        return self.page("runs.html.j2", runs=rows, root=str(self.root), busy=self._busy(rows))

    def runs_table(self, request: Request) -> Response:
        rows = views.list_runs(self.root)
        return self.page("_runs_table.html.j2", runs=rows, busy=self._busy(rows))

    @staticmethod
    def _busy(rows: list[dict[str, Any]]) -> bool:
        return bool(workers.running()) or any(r["state"] == "running" for r in rows)

    def run(self, request: Request) -> Response:
        path = self.run_path(request)
        if path is None:
            return self.problem("no such run", 404)
        return self.page("run.html.j2", r=views.detail(self.root, path))

    def status(self, request: Request) -> Response:
        path = self.run_path(request)
        if path is None:
            return self.problem("no such run", 404)
        row = views.summary(self.root, path)
        with views.opened(path) as run:
            steps = reading.history(run)
        return self.page("_status.html.j2", r=row, history=steps)

    def figure(self, request: Request) -> Response:
        path = self.run_path(request)
        name = request.path_params["name"]
        if path is None or name not in FIGURES:
            return self.problem("no such figure", 404)
        out = self.figdir / path.name / f"{name}-{_stamp(path / 'store.db')}.png"
        if not out.is_file():
            with self.draw_lock, views.opened(path) as run:
                if not self._draw(run, name, out):
                    return self.problem("no assessment yet", 404)
        return FileResponse(out, media_type="image/png")

    @staticmethod
    def _draw(run: Any, name: str, out: Path) -> bool:

        try:
            d = gather(run)
        except ValueError:
            return False
        tmp = out.with_name(f".{os.getpid()}-{threading.get_ident()}-{out.name}")
        if name == "dag":
            edges = [(i, j) for i, j, *_ in d.diagnoses[-1]["edges"]] if d.diagnoses else []
            edges = edges or [(p, m) for m, pres in d.modules.items() for p in pres]
            figures.curriculum_dag(tmp, d.modules, edges, d.final.ratios, d.stages, d.tau_mastery)
        else:
            ratios = {m: [r.ratios.get(m, 0.0) for r in d.rounds] for m in d.p_t}
            figures.trajectories(tmp, [r.round for r in d.rounds], ratios, d.tau_mastery)
        tmp.replace(out)
        for old in out.parent.glob(f"{name}-*.png"):  # earlier drawings of this figure
            if old != out:
                old.unlink(missing_ok=True)
        return True

    def report(self, request: Request) -> Response:
        path = self.run_path(request)
        if path is None:
            return self.problem("no such run", 404)

        with self.draw_lock, views.opened(path) as run:
            try:
                page = write_report([run], self.figdir / path.name / "report")
            except ValueError as exc:
                return self.problem(str(exc), 404, path.name)
        resp = HTMLResponse(page.read_text(encoding="utf-8"))
        resp.headers["content-security-policy"] = REPORT_CSP
        return resp

    # the pending step ---------------------------------------------------------------
    @staticmethod
    def _pending(path: Path) -> tuple[Any, Any]:
        run = reading.open_watched(path)
        return run, reading.pending(run)

    def review(self, request: Request) -> Response:
        path = self.run_path(request)
        if path is None:
            return self.problem("no such run", 404)
        run, step = self._pending(path)
        try:
            if step is None:
                return self.problem("this run is not waiting for review", 409, path.name)
            return self.review_page(run, step)
        finally:
            run.close()

    def review_page(
        self, run: Any, step: Any, status: int = 200, error: str = "", **typed: str
    ) -> HTMLResponse:
        args = step.proposal
        plan_yaml = typed.get("plan") or yaml.safe_dump(args.get("plan", {}), sort_keys=False)
        return self.page(
            "pending.html.j2",
            status,
            run_id=run.id,
            step=step,
            a=args,
            plan_yaml=plan_yaml,
            feedback=typed.get("feedback", ""),
            error=error,
            error_for=typed.get("action", ""),
            payload=json.dumps({"checkpoint": step.checkpoint, **step.request}, indent=1),
        )

    async def answer(self, request: Request) -> Response:
        path = self.run_path(request)
        if path is None:
            return self.problem("no such run", 404)
        data = await self.form(request)
        return await _in_thread(self._answer, path, data)

    def _answer(self, path: Path, data: dict[str, str]) -> Response:
        from ioa_agent.review_answers import make_decision

        action = data.get("action", "")
        run, step = self._pending(path)
        try:
            if step is None or step.checkpoint != data.get("checkpoint"):
                return self.problem("already answered: this step is no longer pending", 409, run.id)
            try:
                decision = make_decision(
                    run, step, action, feedback=data.get("feedback"), plan=data.get("plan")
                )
            except PlanError as exc:
                return self.review_page(run, step, 400, str(exc), **data)

            def still_pending() -> None:  # under the lock: nobody answered in between
                now = reading.pending(run)
                if now is None or now.checkpoint != step.checkpoint:
                    raise RunBusy("already answered")

            try:
                workers.answer(self.root, path, step.checkpoint, decision, still_pending)
            except RunBusy:
                return self.problem(
                    "already answered: the run is moving on with another answer", 409, run.id
                )
        finally:
            run.close()
        return RedirectResponse(f"/runs/{path.name}", 303)

    # start and resume --------------------------------------------------------------
    def start_page(self, request: Request, status: int = 200, **typed: str) -> Response:
        rows = [r for r in views.list_runs(self.root) if r["state"] == "failed"]
        return self.page(
            "start.html.j2",
            status,
            stopped=rows,
            folders=[str(d) for d in self.config_dirs],
            choices=policy.listed_configs(self.config_dirs),
            **{"error": "", "config": "", "name": "", **typed},
        )

    async def start(self, request: Request) -> Response:
        data = await self.form(request)
        return await _in_thread(self._start, request, data)

    def _start(self, request: Request, data: dict[str, str]) -> Response:

        config, name = data.get("config", "").strip(), data.get("name", "").strip()
        name = name or time.strftime("run-%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        try:
            views.check_name(name)
            path = policy.find_config(config, self.config_dirs)
            policy.check_config(path, self.config_dirs)
            if (self.root / name).exists():
                raise ConfigError(f"run {name} already exists: pick another name")
        except (ConfigError, views.BadName) as exc:
            return self.start_page(request, 400, error=str(exc), config=config, name=name)
        proc = workers.start(self.root, path, name)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if (self.root / name / "config.yaml").is_file():
                break
            time.sleep(0.1)
        return RedirectResponse(f"/runs/{name}", 303)

    async def resume(self, request: Request) -> Response:
        path = self.run_path(request)
        if path is None:
            return self.problem("no such run", 404)
        try:
            workers.resume(self.root, path)
        except RunBusy as exc:
            return self.problem(str(exc), 409, path.name)
        return RedirectResponse(f"/runs/{path.name}", 303)


def _stamp(store: Path) -> str:
    """Changes when the store's content does: the file, and its WAL once written to (a
    reader may leave an empty one)."""
    parts = []
    for p in (store, Path(f"{store}-wal")):
        st = p.stat() if p.exists() else None
        if st is not None and st.st_size:
            parts.append(f"{st.st_mtime_ns}.{st.st_size}")
    return "-".join(parts) or "0"


async def _in_thread(fn: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


def create_app(
    root: Path,
    token: str | None = None,
    local: bool = True,
    configs: list[Path] | None = None,
) -> Guard:
    """The app for the runs under `root`, behind its Guard (`.app` is the Starlette app).

    `token` is required on every request when set (None only with `local`: the
    `--no-token` case); runs start from configs in `configs` (default: the shipped
    ones) or in `root`.
    """
    s = Server(root, token, local, configs)
    routes = [
        Route("/", s.runs),
        Route("/runs-table", s.runs_table),
        Route("/start", s.start_page),
        Route("/start", s.start, methods=["POST"]),
        Route("/runs/{run_id}", s.run),
        Route("/runs/{run_id}/status", s.status),
        Route("/runs/{run_id}/review", s.review),
        Route("/runs/{run_id}/review", s.answer, methods=["POST"]),
        Route("/runs/{run_id}/resume", s.resume, methods=["POST"]),
        Route("/runs/{run_id}/report", s.report),
        Route("/runs/{run_id}/fig/{name}.png", s.figure),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.server = s
    return Guard(app, **s.guard_args)
