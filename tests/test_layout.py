"""docs/development.md's layout names every module and folder of the package, and only
those that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layout_block() -> str:
    text = (ROOT / "docs" / "development.md").read_text()
    return text.split("## Layout", 1)[1].split("```")[1]


def test_the_layout_names_every_package_entry_and_nothing_else() -> None:
    block = layout_block()
    named = set(re.findall(r"\b([a-z_]+(?:\.py|/))", block))
    package = {
        p.name + ("/" if p.is_dir() else "")
        for p in (ROOT / "ioa_agent").iterdir()
        if not p.name.startswith("__") and (p.is_dir() or p.suffix == ".py")
    }
    assert package - named == set(), "add these to docs/development.md's layout"
    modules = {p.name for p in (ROOT / "ioa_agent").rglob("*.py")}
    assert {n for n in named if n.endswith(".py")} - modules == set(), "no such module"
