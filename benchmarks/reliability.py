"""Faults a run survives: runs the fault tests and writes what each case showed.

    python benchmarks/reliability.py [--tries 3] [--vllm] [--tiny]

Runs tests/test_faults.py (Ctrl-C at random moments, a full disk, damaged files; each
Ctrl-C and full-disk case `--tries` times at different random moments) and
tests/test_bad_input.py, and, with `--vllm` (needs `make vllm-setup`), the kill -9 of
an LLM-teacher run behind a proxy breaking 30% of requests to a real local vLLM
server. Each test records its case, the moment it struck, where the run was, and what
differed afterwards; this script gathers them from pytest's JUnit XML into
docs/results/reliability.json and the table in docs/reliability.md. `--tiny` runs one
bad-input case into a temporary folder, to check the script itself.

It does not decide what passes: the tests do (a case passes when the test's
assertions hold: the one-line message, the exit code, nothing lost or changed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ioa_agent.results import markdown_table, put_table, write_results  # noqa: E402

RESULTS = "docs/results/reliability.json"
PAGE = ROOT / "docs" / "reliability.md"
VLLM_TEST = (
    "tests/vllm/test_teacher_vllm.py::"
    "test_run_killed_while_writing_behind_a_faulty_proxy_resumes_losing_nothing"
)


def run_tests(selection: list[str], tries: int, folder: Path) -> list[Path]:
    """Run each selected test file in its own pytest (each folder has its own conftest)."""
    env = dict(os.environ, IOA_FAULT_TRIES=str(tries), HF_HUB_OFFLINE="1")
    xmls = []
    for i, tests in enumerate(selection):
        xml = folder / f"faults-{i}.xml"
        argv = [sys.executable, "-m", "pytest", "-q", "-m", "slow or not slow", tests]
        subprocess.run([*argv, f"--junitxml={xml}", "-o", "junit_family=xunit1"], cwd=ROOT, env=env)
        xmls.append(xml)
    return xmls


def cases(xmls: list[Path]) -> list[dict[str, Any]]:
    """One row per case: tries, passed, moments, where runs were, what was lost."""
    out: dict[str, dict[str, Any]] = {}
    tests = [t for xml in xmls if xml.is_file() for t in ET.parse(xml).getroot().iter("testcase")]
    for test in tests:
        props = {p.get("name"): p.get("value") for p in test.iter("property")}
        if "case" not in props or test.find("skipped") is not None:
            continue
        row = out.setdefault(
            props["case"],
            {"case": props["case"], "tries": 0, "passed": 0, "moments": [], "landed": []},
        )
        row["tries"] += 1
        failed = test.find("failure") is not None or test.find("error") is not None
        row["passed"] += 0 if failed else 1
        for key in ("moment", "landed"):
            if props.get(key):
                row[f"{key}s" if key == "moment" else key].append(props[key])
        lost = props.get("lost") or props.get("changed")
        row.setdefault("lost", [])
        if lost and lost != "[]":
            row["lost"].append(lost)
        if failed and not lost:  # a failure that lost nothing still fails the case
            row["lost"].append("(the test failed: see its output)")
        row["repeated_calls"] = row.get("repeated_calls", 0) + int(props.get("repeated_calls") or 0)
    return list(out.values())


def table(figures: dict[str, Any]) -> str:
    """reliability.json's table, from its figures."""
    body = [
        [
            r["case"],
            r["tries"],
            f"{r['passed']}/{r['tries']}",
            ", ".join(sorted(set(r["landed"]))) or "-",
            r["repeated_calls"],
            "nothing" if not r["lost"] else "; ".join(r["lost"]),
        ]
        for r in figures["cases"]
    ]
    header = ["case", "tries", "passed", "run stood at", "repeated paid calls", "lost"]
    return markdown_table(header, body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tries", type=int, default=3, help="random moments per Ctrl-C/disk case")
    ap.add_argument("--vllm", action="store_true", help="also the kill -9 case against vLLM")
    ap.add_argument("--tiny", action="store_true", help="one quick case (page left alone)")
    ap.add_argument("--results", type=Path, help=f"results file (default {RESULTS}; --tiny: temp)")
    args = ap.parse_args()
    selection = ["tests/test_faults.py", "tests/test_bad_input.py"]
    if args.tiny:
        selection = ["tests/test_bad_input.py::test_bad_input_is_one_line_and_loses_nothing"]
        selection[0] += "[config of wrong types]"
    elif args.vllm:
        selection.append(VLLM_TEST)
    with tempfile.TemporaryDirectory() as tmp:
        rows = cases(run_tests(selection, 1 if args.tiny else args.tries, Path(tmp)))
        if not rows:
            raise SystemExit("no test recorded a case: see pytest's output above")
        out = args.results or (Path(tmp) / "reliability.json" if args.tiny else ROOT / RESULTS)
        figures = {"cases": rows}
        config = {"tries": args.tries, "vllm": args.vllm, "tests": selection}
        write_results(out, config=config, seed=None, figures=figures, table=table)
        page = out.resolve() == (ROOT / RESULTS).resolve()
        if page:
            put_table(PAGE, RESULTS, table(figures))
    print(table(figures))
    print(f"wrote {out}" + (f" and its table in {PAGE.relative_to(ROOT)}" if page else ""))


if __name__ == "__main__":
    main()
