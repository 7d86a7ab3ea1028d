"""`ioa report`: the HTML report of finished tiny runs, checked for its values.

Two real runs (real SQLite, the exact teacher, a tiny real student): an `ioa` run
reviewed by a person (one rejection with feedback, then approval) and a `uniform`
run. The report's numbers are checked against the run store and directory read
independently here, not just that a page was written.
"""

from __future__ import annotations

import base64
import json
import re
from html import escape
from pathlib import Path

import pytest
from conftest import tiny_config, write_config

from ioa_agent.cli import main
from ioa_agent.report.data import gather, mean_std, tokens_to_reach
from ioa_agent.run import find_run

PNG = b"\x89PNG\r\n\x1a\n"


def test_tokens_to_reach() -> None:
    curve = [(100, 0.1), (300, 0.3), (500, 0.5)]
    assert tokens_to_reach(curve, 0.4) == pytest.approx(400)
    assert tokens_to_reach(curve, 0.3) == 300
    assert tokens_to_reach(curve, 0.05) == 100
    assert tokens_to_reach(curve, 0.6) is None
    assert tokens_to_reach(list(reversed(curve)), 0.2) == pytest.approx(200)


def test_mean_std() -> None:
    assert mean_std([1.0, 3.0]) == (2.0, pytest.approx(2**0.5))
    assert mean_std([4.0]) == (4.0, 0.0)


@pytest.fixture(scope="module")
def runs(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    over = {"max_rounds": 1, "teacher": {"budget_tokens": 100_000}}
    cfg = write_config(root / "ioa.yaml", tiny_config(tiny_model, review="required", **over))
    assert main(["run", "--config", str(cfg), "--runs", str(root), "--name", "taught"]) == 0
    args = ["review", "taught", "--runs", str(root)]
    assert main([*args, "--reject", "easier"]) == 0
    assert main([*args, "--approve"]) == 0
    cfg = write_config(root / "uni.yaml", tiny_config(tiny_model, strategy="uniform", **over))
    assert main(["run", "--config", str(cfg), "--runs", str(root), "--name", "spread"]) == 0
    return root


def _accuracy(run_dir: Path, rnd: int) -> float:
    run = find_run(run_dir.parent, run_dir.name)
    probes = {p.id for p in run.store.items("probe")}
    rows = [r for r in run.store.assessment(rnd) if r["item_id"] in probes]
    assert len(rows) == len(probes)
    return sum(r["correct"] for r in rows) / len(rows)


def _text(html: str) -> str:
    html = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.slow
def test_single_run_report_shows_the_runs_values(runs: Path) -> None:
    assert main(["report", "taught", "--runs", str(runs)]) == 0
    page = runs / "taught" / "report" / "report.html"
    html = page.read_text()
    text = _text(html)
    run = find_run(runs, "taught")

    # figures: written beside the page, each also embedded
    figs = sorted((page.parent / "figures" / "taught").glob("*.png"))
    assert [f.name for f in figs] == [
        "dag.png",
        "diagnosis-1.png",
        "teacher.png",
        "trajectories.png",
    ]
    embedded = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert len(embedded) == 4
    assert all(base64.b64decode(e).startswith(PNG) for e in embedded)
    assert all(f'href="figures/taught/{f.name}"' in html for f in figs)

    # accuracy per round and the teacher's tokens, as the store has them
    assert f"Final accuracy {_accuracy(runs / 'taught', 1):.3f} after 1 rounds" in text
    use = run.store.teacher_usage()
    assert f"teacher tokens {use['tokens_in'] + use['tokens_out']} of a budget of 100000" in text

    # the diagnosis: targets and each module's gap and severity
    diag = json.loads((runs / "taught" / "diagnosis" / "001.json").read_text())
    assert "targets " + ", ".join(diag["targets"]) in text
    for m, g in diag["gaps"].items():
        assert f"{m} {g:.3f} {diag['severity'][m]:.3f}" in text

    # the curriculum stages and the review decisions, including the rejection
    for stage in run.store.events("plan")[0]["payload"]["stages"]:
        assert ", ".join(stage["skills"]) in text
    assert "reject: easier" in text and "approve" in text
    assert "replan:" in text

    # a rewrite sample: the item before and after the Adapter
    row = run.store.db.execute(
        "select request, response from teacher_cache where task = 'rewrite' limit 1"
    ).fetchone()
    before, after = json.loads(row[0])["item"], json.loads(row[1])
    assert before["prompt"] in text and after["prompt"] in text
    assert "step_format" in text

    # the renderings the student scored, with the pick, and the paired change per module
    rec = run.store.events("renderings")[0]["payload"]
    assert f"Rule: {escape(rec['rule'], quote=False)}" in text
    for g in rec["groups"]:
        for name, s in g["scores"].items():
            picked = "yes" if name == g["picked"] else ""
            row = f"1 {g['module']} {g['level']} {name} {s['s_aq']:.3f} {s['s_a']:.3f}"
            assert f"{row} {s['ifd']:.3f} {s['n']} {picked}".strip() in text
    gate = run.store.events("gate")[0]["payload"]
    for m, c in gate["paired"].items():
        cells = f"{m} {c['n']} {c['before']:.2f} {c['after']:.2f}"
        assert f"{cells} {c['diff']:+.2f} [{c['lo']:+.2f}, {c['hi']:+.2f}]" in text

    data = gather(run)
    assert [r.round for r in data.rounds] == [0, 1]
    assert data.final.teacher_tokens == use["tokens_in"] + use["tokens_out"]
    assert sum(r.calls for r in data.rounds) == use["calls"]
    assert data.rounds[1].train_steps == 2 and data.train_steps == 2


@pytest.mark.slow
def test_compare_report_puts_runs_side_by_side(runs: Path) -> None:
    out = runs / "both"
    assert main(["report", "taught", "spread", "--runs", str(runs), "--out", str(out)]) == 0
    html = (out / "report.html").read_text()
    text = _text(html)
    assert (out / "figures" / "accuracy-vs-tokens.png").read_bytes().startswith(PNG)
    for name, strategy in (("taught", "ioa"), ("spread", "uniform")):
        acc = _accuracy(runs / name, 1)
        assert re.search(rf"{name} {strategy} 1 {acc:.3f} \d+ 100000 2 ", text), name
        assert f"Run {name} — strategy {strategy}" in text
    # uniform makes no rewrite: its samples are raw items
    assert "(none)" in text


@pytest.mark.slow
def test_report_of_unknown_run_is_a_clear_error(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "nope", "--runs", str(runs)]) == 2
    assert "unknown run `nope`" in capsys.readouterr().err
