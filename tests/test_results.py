"""Results files, and the README tables that must equal them.

Every table of the README or of a page under docs/ preceded by a line
`<!-- results: docs/results/NAME.json -->` must be the table that file's figures
render (its `table` function, run again here), verbatim, and so must the file's own
`readme_table`; the file must exist and say how the figures were made (command,
config, seed, versions, machine, date). A table without a marker must be one of the
reference tables below, which hold no measured figure.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from ioa_agent.results import (
    REQUIRED,
    command_line,
    markdown_table,
    rebuild_table,
    table_name,
    write_results,
)

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^<!-- results: (\S+) -->$")
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("docs/*.md"))]
REFERENCE_TABLES = {  # header rows of tables that list, not measure
    "| command | what it does |",
    "| page | what is in it |",
    "| field | default | meaning |",
    "| `--bench` | dataset id | config / split | revision |",
    "| benchmark | rule |",
    "| fault | what you see | what to do |",
    "| field | why |",
}


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
            continue
        rebuilt = rebuild_table(record)
        if not table:
            problems.append(f"{name}: no table follows its marker")
        elif table != rebuilt:
            problems.append(f"{name}: the page's table differs from what its figures render")
        if record["readme_table"] != rebuilt:
            problems.append(f"{name}: readme_table differs from what its figures render")
    return problems


def unmarked_tables(text: str) -> list[str]:
    """Header rows of tables with no marker above them and not listed as reference."""
    out, previous, inside = [], "", False
    for line in text.splitlines():
        if line.startswith("|"):
            marked = MARKER.match(previous.strip())
            if not inside and not marked and line.strip() not in REFERENCE_TABLES:
                out.append(line.strip())
            inside = True
        else:
            inside = False
            previous = line if line.strip() else previous
    return out


@pytest.mark.parametrize("page", PAGES)
def test_marked_tables_equal_what_their_figures_render(page: str) -> None:
    text = (ROOT / page).read_text()
    assert check_tables(text, ROOT) == []
    for name, _ in marked_tables(text):
        assert name.startswith("docs/results/"), name


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_table_is_marked(page: str) -> None:
    assert unmarked_tables((ROOT / page).read_text()) == []


def test_committed_results_files_render_their_tables() -> None:
    paths = sorted((ROOT / "docs" / "results").rglob("*.json"))
    assert len(paths) >= 8
    for path in paths:
        record = json.loads(path.read_text())
        assert set(REQUIRED) <= set(record), path
        assert record["machine"]["cpu"] and record["versions"]["python"], path
        assert rebuild_table(record) == record["readme_table"], path


def speed_table(figures: dict) -> str:
    """A test results file's table (found again through the file's `table` field)."""
    return markdown_table(["way", "tok/s"], [[w, f"{r:.1f}"] for w, r in figures["ways"]])


def test_a_changed_figure_table_or_missing_file_is_caught(tmp_path: Path) -> None:
    figures = {"ways": [["batched", 41.5]]}
    table = "| way | tok/s |\n|---|---|\n| batched | 41.5 |"
    assert speed_table(figures) == table
    path = tmp_path / "docs/results/x.json"
    write_results(
        path, config={"n": 1}, seed=3, figures=figures, table=speed_table, command="python x.py"
    )
    good = f"intro\n<!-- results: docs/results/x.json -->\n\n{table}\n\nafter\n"
    assert marked_tables(good) == [("docs/results/x.json", table)]
    assert check_tables(good, tmp_path) == []
    assert check_tables(good.replace("41.5", "42.0"), tmp_path) == [
        "docs/results/x.json: the page's table differs from what its figures render"
    ]
    assert check_tables(good.replace("x.json", "y.json"), tmp_path) == [
        "docs/results/y.json: no such results file"
    ]
    record = json.loads(path.read_text())
    assert record["command"] == "python x.py" and record["seed"] == 3
    assert record["config"] == {"n": 1} and record["figures"] == figures
    assert record["table"] == "tests/test_results.py:speed_table" == table_name(speed_table)
    assert record["machine"]["cores"] >= 1 and record["versions"]["torch"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", record["date"])
    # a hand-edited figure: the file's own table and the page's no longer match it
    edited = {**record, "figures": {"ways": [["batched", 42.0]]}}
    path.write_text(json.dumps(edited))
    assert check_tables(good, tmp_path) == [
        "docs/results/x.json: the page's table differs from what its figures render",
        "docs/results/x.json: readme_table differs from what its figures render",
    ]
    # a hand-edited readme_table, page edited to match: the figures still disagree
    forged = {**record, "readme_table": table.replace("41.5", "42.0")}
    path.write_text(json.dumps(forged))
    assert check_tables(good.replace("41.5", "42.0"), tmp_path) == [
        "docs/results/x.json: the page's table differs from what its figures render",
        "docs/results/x.json: readme_table differs from what its figures render",
    ]
    del record["machine"]
    path.write_text(json.dumps(record))
    assert check_tables(good, tmp_path) == ["docs/results/x.json: lacks machine"]


def test_an_unmarked_figure_table_is_caught() -> None:
    page = "## Speed\n\n| way | tok/s |\n|---|---|\n| batched | 41.5 |\n"
    assert unmarked_tables(page) == ["| way | tok/s |"]
    marked = page.replace("## Speed\n", "<!-- results: docs/results/x.json -->\n")
    assert unmarked_tables(marked) == []
    assert unmarked_tables("| page | what is in it |\n|---|---|\n| a | b |\n") == []


def test_command_line_names_the_script_as_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    script = str(ROOT / "benchmarks" / "eval_speed.py")
    monkeypatch.setattr(sys, "argv", [script, "--n", "8", "--data-dir", "a b"])
    assert command_line() == "python benchmarks/eval_speed.py --n 8 --data-dir 'a b'"


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
