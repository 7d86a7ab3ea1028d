"""Results files, and the README tables that must equal them.

Every table of the README or of a page under docs/ preceded by a line
`<!-- results: docs/results/NAME.json -->` must be that file's `readme_table`,
verbatim; the file must exist and say how the figures were made (command, config,
seed, versions, machine, date).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from ioa_agent.results import REQUIRED, command_line, markdown_table, write_results

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^<!-- results: (\S+) -->$")


def marked_tables(text: str) -> list[tuple[str, str]]:
    """(results path, the table right after its marker) for every marker in `text`."""
    lines = text.splitlines()
    out: list[tuple[str, str]] = []
    for i, line in enumerate(lines):
        match = MARKER.match(line.strip())
        if not match:
            continue
        rest = lines[i + 1 :]
        while rest and not rest[0].strip():
            rest = rest[1:]
        table: list[str] = []
        for row in rest:
            if not row.startswith("|"):
                break
            table.append(row)
        out.append((match.group(1), "\n".join(table)))
    return out


def check_tables(text: str, root: Path) -> list[str]:
    """What is wrong with the marked tables of `text` (nothing: an empty list)."""
    problems: list[str] = []
    for name, table in marked_tables(text):
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: no such results file")
            continue
        record = json.loads(path.read_text())
        missing = [k for k in REQUIRED if k not in record]
        if missing:
            problems.append(f"{name}: lacks {', '.join(missing)}")
        elif not table:
            problems.append(f"{name}: no table follows its marker")
        elif table != record["readme_table"]:
            problems.append(f"{name}: the README's table differs from readme_table")
    return problems


@pytest.mark.parametrize(
    "page", ["README.md", *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("docs/*.md"))]
)
def test_marked_tables_equal_their_results_files(page: str) -> None:
    text = (ROOT / page).read_text()
    assert check_tables(text, ROOT) == []
    for name, _ in marked_tables(text):
        assert name.startswith("docs/results/"), name


def test_committed_results_files_are_complete() -> None:
    for path in sorted((ROOT / "docs" / "results").glob("*.json")):
        record = json.loads(path.read_text())
        assert set(REQUIRED) <= set(record), path
        assert record["machine"]["cpu"] and record["versions"]["python"], path


def test_a_changed_figure_or_missing_file_is_caught(tmp_path: Path) -> None:
    table = markdown_table(["way", "tok/s"], [["batched", "41.5"]])
    assert table == "| way | tok/s |\n|---|---|\n| batched | 41.5 |"
    write_results(
        tmp_path / "docs/results/x.json",
        config={"n": 1},
        seed=3,
        figures={"tok_s": 41.5},
        readme_table=table,
        command="python benchmarks/x.py",
    )
    good = f"intro\n<!-- results: docs/results/x.json -->\n\n{table}\n\nafter\n"
    assert marked_tables(good) == [("docs/results/x.json", table)]
    assert check_tables(good, tmp_path) == []
    assert check_tables(good.replace("41.5", "42.0"), tmp_path) == [
        "docs/results/x.json: the README's table differs from readme_table"
    ]
    assert check_tables(good.replace("x.json", "y.json"), tmp_path) == [
        "docs/results/y.json: no such results file"
    ]
    record = json.loads((tmp_path / "docs/results/x.json").read_text())
    assert record["command"] == "python benchmarks/x.py" and record["seed"] == 3
    assert record["config"] == {"n": 1} and record["figures"] == {"tok_s": 41.5}
    assert record["machine"]["cores"] >= 1 and record["versions"]["torch"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", record["date"])
    del record["machine"]
    (tmp_path / "docs/results/x.json").write_text(json.dumps(record))
    assert check_tables(good, tmp_path) == ["docs/results/x.json: lacks machine"]


def test_command_line_names_the_script_as_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    script = str(ROOT / "benchmarks" / "eval_speed.py")
    monkeypatch.setattr(sys, "argv", [script, "--n", "8", "--data-dir", "a b"])
    assert command_line() == "python benchmarks/eval_speed.py --n 8 --data-dir 'a b'"


@pytest.mark.parametrize("script", ["assess_speed", "eval_speed", "student_speed", "train_speed"])
def test_every_benchmark_writes_a_results_file(script: str) -> None:
    source = (ROOT / "benchmarks" / f"{script}.py").read_text()
    assert "write_results(" in source and '"--results"' in source
    assert "docs/results" in source


def test_put_table_replaces_the_marked_table_only(tmp_path: Path) -> None:
    from ioa_agent.results import put_table

    page = tmp_path / "page.md"
    page.write_text(
        "intro\n\n<!-- results: docs/results/x.json -->\n| a |\n|---|\n| 1 |\n\nafter\n"
    )
    put_table(page, "docs/results/x.json", "| a |\n|---|\n| 2 |")
    assert page.read_text() == (
        "intro\n\n<!-- results: docs/results/x.json -->\n| a |\n|---|\n| 2 |\n\nafter\n"
    )
    with pytest.raises(ValueError, match="no line `<!-- results: docs/results/y.json -->`"):
        put_table(page, "docs/results/y.json", "| a |")
