"""The representation benchmark's probes: even over the levels, none sharing a training
item's operands (no student is trained here)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import benchmark

ROOT = Path(__file__).resolve().parents[1]


def representation() -> Any:
    return benchmark("representation")


@pytest.mark.parametrize("levels", [[1, 2], [3], [1, 2, 3, 4]])
def test_probes_are_even_over_levels_and_share_no_operands(levels: list[int]) -> None:
    bench = representation()
    train = bench.items_for("arithmetic/addition", levels, 384, seed=1000)
    probes = bench.items_for("arithmetic/addition", levels, 32, 7, probes=True)
    assert Counter(p.level for p in probes) == {lv: 32 // len(levels) for lv in levels}
    assert bench.shared_operands(train, probes) == 0
    # the check itself can fail: a probe with a trained operand tuple is counted
    copied = train[0].model_copy(update={"id": "copy"})
    assert bench.shared_operands(train, [*probes, copied]) == 1


def test_an_uneven_split_is_refused() -> None:
    with pytest.raises(SystemExit, match="do not split evenly over levels"):
        representation().items_for("arithmetic/addition", [1, 2, 3], 32, 7, probes=True)
