"""The built-in arithmetic domain and its exact teacher.

Checks the module graph, that generated, synthesized and rewritten items are valid,
distinct and deterministic, that the teacher solves every one of them from the text
alone, and that each rewrite strategy and variant changes what it claims to change.
"""

from __future__ import annotations

import re
import string
from fractions import Fraction

import networkx as nx
import pytest

from ioa_agent.domains import arithmetic, arithmetic_holdout
from ioa_agent.domains.arithmetic_stories import WORD_FIELDS
from ioa_agent.domains.arithmetic_templates import MUL
from ioa_agent.items import STRATEGIES, Item
from ioa_agent.teacher.base import Teacher
from ioa_agent.teacher.exact import ArithmeticTeacher

TEACHER = ArithmeticTeacher()
MODULES = {m.id: m for m in TEACHER.decompose("arithmetic")}
LEVELS = (1, 2, 3, 4)
CASES = [(m, level) for m in MODULES for level in LEVELS]
COMBOS = [[s] for s in STRATEGIES] + [
    ["step_format", "decomposition"],
    list(STRATEGIES),
]
SINGLE_STEP = {"groups", "share", "unit_total", "discount"}


def _items(module: str, level: int, n: int = 6, seed: int = 0) -> list[Item]:
    return TEACHER.write_items(MODULES[module], level, n, seed)


def _template(prompt: str) -> str:
    parsed = arithmetic.parse(prompt)
    assert parsed is not None, prompt
    return parsed[0].name


def _size(prompt: str) -> int:
    parsed = arithmetic.parse(prompt)
    assert parsed is not None, prompt
    return max(v for v in parsed[1].values() if isinstance(v, int))


def _is_answer(text: str) -> bool:
    """An integer, or a fraction in lowest terms that is not a whole number."""
    if re.fullmatch(r"-?\d+", text):
        return True
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    return bool(match) and Fraction(text).denominator == int(match.group(2)) != 1


def test_teacher_has_the_protocol_surface() -> None:
    teacher: Teacher = TEACHER
    assert teacher.model_id == "builtin/arithmetic-exact"
    for name in ("decompose", "write_items", "synthesize", "solve", "rewrite"):
        assert callable(getattr(teacher, name))


def test_modules_form_a_dag_with_four_levels() -> None:
    assert len(MODULES) >= 8
    graph = nx.DiGraph()
    for module in MODULES.values():
        assert re.fullmatch(r"[a-z0-9_]+/[a-z0-9_]+", module.id)
        assert module.levels == 4
        assert module.description.endswith(".") and ". " not in module.description
        graph.add_node(module.id)
        for prereq in module.prerequisites:
            assert prereq in MODULES, prereq
            graph.add_edge(prereq, module.id)
    assert nx.is_directed_acyclic_graph(graph)
    assert graph.number_of_edges() >= 10
    assert set(nx.ancestors(graph, "word_problems/money")) >= {
        "fractions/percentages",
        "word_problems/one_step",
        "arithmetic/addition",
    }
    assert [m for m in MODULES if graph.in_degree(m) == 0] == ["arithmetic/addition"]


def test_decompose_rejects_other_domains() -> None:
    with pytest.raises(ValueError, match="arithmetic"):
        TEACHER.decompose("chemistry")


def test_decompose_returns_copies() -> None:
    first = TEACHER.decompose("arithmetic")
    first[0].prerequisites.append("x/y")
    assert "x/y" not in TEACHER.decompose("arithmetic")[0].prerequisites


@pytest.mark.parametrize(("module", "level"), CASES)
def test_written_items_are_valid_distinct_and_solved(module: str, level: int) -> None:
    items = _items(module, level, n=10, seed=3)
    assert len(items) == 10
    assert len({i.prompt for i in items}) == 10
    for item in items:
        assert (item.module, item.level, item.variant) == (module, level, "standard")
        assert _is_answer(item.answer), item.answer
        assert len(item.prompt.split()) <= 35, item.prompt
        assert 0 < len(item.rationale.split()) <= 45, item.rationale
        assert "answer is" not in item.rationale.lower()
        assert item.completion().endswith(f"The answer is {item.answer}.")
        solved = TEACHER.solve(item.prompt)
        assert solved.answer == item.answer, item.prompt
        assert solved.rationale == item.rationale


def test_levels_scale_difficulty() -> None:
    for module in set(MODULES) - {"fractions/fraction_addition"}:
        sizes = [
            sum(_size(i.prompt) for i in _items(module, level, n=30, seed=1)) for level in LEVELS
        ]
        assert sizes[0] < sizes[3], (module, sizes)
    for level in LEVELS:
        for item in _items("fractions/fraction_addition", level, n=10):
            d1, d2 = (int(d) for d in re.findall(r"/(\d+)", item.prompt))
            assert (d1 == d2) == (level <= 2), item.prompt
            assert (max(d1, d2) % min(d1, d2) == 0) == (level <= 3), item.prompt
    add = {level: _items("arithmetic/addition", level, n=20) for level in LEVELS}
    assert all("carry" not in i.rationale for i in add[1])
    assert all("carry" in i.rationale for i in add[2] + add[3] + add[4])
    multi = {level: _items("word_problems/multi_step", level, n=20) for level in LEVELS}
    steps = {
        level: max(TEACHER.solve(i.prompt).rationale.count("=") for i in multi[level])
        for level in LEVELS
    }
    assert steps[1] == 2 and steps[4] >= 3


def test_teacher_solves_everything_it_writes() -> None:
    total = solved = 0
    for module, level in CASES:
        for seed in range(4):
            for item in _items(module, level, n=6, seed=seed):
                total += 1
                solved += TEACHER.solve(item.prompt).answer == item.answer
    assert total == len(CASES) * 24
    assert solved / total == 1.0


@pytest.mark.parametrize(("module", "level"), CASES)
def test_synthesize_keeps_module_and_template(module: str, level: int) -> None:
    seed_item = _items(module, 1 + (level % 4), n=1, seed=level)[0]
    items = TEACHER.synthesize(seed_item, level, 8, seed=11)
    assert len(items) == 8
    assert len({i.prompt for i in items} | {seed_item.prompt}) == 9
    for item in items:
        assert (item.module, item.level) == (module, level)
        assert _template(item.prompt) == _template(seed_item.prompt)
        assert TEACHER.solve(item.prompt).answer == item.answer


def test_rewrites_are_solved_for_every_strategy_and_variant() -> None:
    total = solved = 0
    for module, level in CASES:
        for item in _items(module, level, n=3, seed=7):
            for strategies in COMBOS:
                for variant in ("standard", "remedial", "bridging"):
                    new = TEACHER.rewrite(item, strategies, variant)
                    total += 1
                    solved += bool(new.answer) and TEACHER.solve(new.prompt).answer == new.answer
                    assert new.strategy == "+".join(strategies)
                    assert (new.variant, new.parent, new.module) == (variant, item.id, module)
                    assert "answer is" not in new.rationale.lower()
    assert total == len(CASES) * 3 * len(COMBOS) * 3
    assert solved / total == 1.0


def test_determinism() -> None:
    spec = MODULES["word_problems/one_step"]
    assert TEACHER.write_items(spec, 2, 8, 5) == TEACHER.write_items(spec, 2, 8, 5)
    assert TEACHER.write_items(spec, 2, 8, 5) != TEACHER.write_items(spec, 2, 8, 6)
    seed_item = TEACHER.write_items(spec, 2, 1, 5)[0]
    assert TEACHER.synthesize(seed_item, 3, 5, 1) == TEACHER.synthesize(seed_item, 3, 5, 1)
    assert TEACHER.synthesize(seed_item, 3, 5, 1) != TEACHER.synthesize(seed_item, 3, 5, 2)
    strategies = ["cognitive_load", "step_format"]
    assert TEACHER.rewrite(seed_item, strategies, "remedial") == TEACHER.rewrite(
        seed_item, strategies, "remedial"
    )


def test_write_items_rejects_bad_requests() -> None:
    with pytest.raises(ValueError, match="level"):
        _items("arithmetic/addition", 5)
    with pytest.raises(ValueError, match="unknown"):
        arithmetic.write_items("arithmetic/logarithms", 1, 3, 0)
    assert _items("arithmetic/addition", 1, n=0) == []


def test_cognitive_load_uses_smaller_numbers_one_level_lower() -> None:
    total = smaller = 0
    for module, level in CASES:
        if level == 1:
            continue
        for item in _items(module, level, n=5, seed=2):
            new = TEACHER.rewrite(item, ["cognitive_load"], "standard")
            assert new.level == level - 1
            assert _template(new.prompt) == _template(item.prompt)
            total += 1
            smaller += _size(new.prompt) < _size(item.prompt)
    assert smaller / total >= 0.9, (smaller, total)


def test_step_format_numbers_every_step() -> None:
    for module, level in CASES:
        item = _items(module, level, n=1, seed=4)[0]
        new = TEACHER.rewrite(item, ["step_format"], "standard")
        assert (new.prompt, new.answer, new.level) == (item.prompt, item.answer, item.level)
        assert new.rationale.startswith("Step 1: ") and " Step 2: " in new.rationale
        numbers = [int(n) for n in re.findall(r"Step (\d+):", new.rationale)]
        assert numbers == list(range(1, len(numbers) + 1))


def test_decomposition_has_the_five_stages_in_order() -> None:
    for module, level in CASES:
        item = _items(module, level, n=1, seed=5)[0]
        text = TEACHER.rewrite(item, ["decomposition"], "standard").rationale
        positions = [
            text.find(f"{stage}: ") for stage in ("Facts", "Relation", "Equation", "Solve", "Check")
        ]
        assert -1 not in positions and positions == sorted(positions), text


def test_concretization_opens_with_an_example() -> None:
    for module, level in CASES:
        item = _items(module, level, n=1, seed=6)[0]
        new = TEACHER.rewrite(item, ["concretization"], "standard")
        assert new.rationale.startswith("Like ")
        assert new.rationale.endswith(item.rationale)
        assert len(new.rationale) > len(item.rationale)


def test_simplification_rewords_the_prompt_in_short_sentences() -> None:
    for module, level in CASES:
        for item in _items(module, level, n=3, seed=8):
            new = TEACHER.rewrite(item, ["simplification"], "standard")
            assert new.prompt != item.prompt
            assert (new.answer, new.level) == (item.answer, item.level)
            sentences = [s for s in re.split(r"(?<=[.?])\s+", new.prompt) if s]
            assert max(len(s.split()) for s in sentences) <= 12, new.prompt
            assert len(new.prompt.split()) <= len(item.prompt.split()) + 4


def test_variants_move_the_level() -> None:
    for module, level in CASES:
        item = _items(module, level, n=1, seed=9)[0]
        remedial = TEACHER.rewrite(item, ["step_format"], "remedial")
        bridging = TEACHER.rewrite(item, ["step_format"], "bridging")
        assert remedial.level == max(1, level - 1)
        assert bridging.level == min(4, level + 1)
        assert remedial.prompt != item.prompt and bridging.prompt != item.prompt


def test_remedial_narrows_multi_step_stories_to_one_step() -> None:
    for module in ("word_problems/multi_step", "word_problems/money"):
        for level in (2, 3, 4):
            for item in _items(module, level, n=4, seed=10):
                new = TEACHER.rewrite(item, ["step_format"], "remedial")
                steps = TEACHER.solve(item.prompt).rationale.count("=")
                if steps == 1:
                    continue
                assert _template(new.prompt) in SINGLE_STEP, new.prompt
                assert TEACHER.solve(new.prompt).rationale.count("=") <= steps


def test_rewrite_of_unknown_text_claims_no_answer() -> None:
    item = Item(module="arithmetic/addition", level=2, prompt="Name a prime.", answer="2")
    new = TEACHER.rewrite(item, ["step_format"], "standard")
    assert new.answer == "" and new.parent == item.id
    by_zero = item.model_copy(update={"prompt": "What is 5 ÷ 0?"})
    assert TEACHER.rewrite(by_zero, ["step_format"], "standard").answer == ""
    with pytest.raises(ValueError):
        TEACHER.rewrite(item, ["shouting"], "standard")  # type: ignore[list-item]


@pytest.mark.parametrize(
    "prompt",
    [
        "",
        "hello world",
        "What is the capital of France?",
        "What is 5 ÷ 0?",
        "What is 3/0 + 1/2?",
        "Tom has many apples. Tom gets some more. How many apples now?",
    ],
)
def test_solve_of_text_it_does_not_understand_is_empty(prompt: str) -> None:
    solution = TEACHER.solve(prompt)
    assert (solution.answer, solution.rationale) == ("", "")


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("What is 47 + 38?", "85"),
        ("Compute   47 +\n38.", "85"),
        ("12 * 7 =", "84"),
        ("What is 503 - 178?", "325"),
        ("What is 84 ÷ 7?", "12"),
        ("What is 2/3 + 3/4?", "17/12"),
        ("What is 25% of 80?", "20"),
        ("What percent of 80 is 20?", "25"),
        ("When 50 is divided by 7, what is the remainder?", "1"),
        ("Mia has 12 apples. Mia gets 5 more. How many apples does Mia have now?", "17"),
    ],
)
def test_solve_known_problems(prompt: str, answer: str) -> None:
    assert TEACHER.solve(prompt).answer == answer


def test_solve_rationale_format() -> None:
    assert TEACHER.solve("What is 47 + 38?").rationale == "47+38: 7+8=15, carry 1; 4+3+1=8. So 85."
    assert TEACHER.solve("What is 82 - 47?").rationale == (
        "82-47: 2<7, borrow: 12-7=5; 8-1-4=3. So 35."
    )


def test_every_phrasing_of_a_template_asks_for_the_same_numbers() -> None:
    for tpl in arithmetic.TEMPLATES:
        numbers = [
            {f for _, f, _, _ in string.Formatter().parse(text) if f and f not in WORD_FIELDS}
            for text in (*tpl.phrasings, tpl.plain)
        ]
        assert all(n == numbers[0] for n in numbers), tpl.name
        assert tpl.plain not in tpl.phrasings


@pytest.mark.parametrize(("module", "level"), CASES)
def test_every_skill_gives_the_gate_16_probes_each_its_own_fact(module: str, level: int) -> None:
    n = arithmetic_holdout.PROBE_TUPLES
    probes = arithmetic.write_items(module, level, n, seed=3, probes=True)
    keys = [arithmetic.content_key(p.prompt) for p in probes]
    assert len(set(keys)) == n, keys
    assert all(arithmetic_holdout.held_out(k) for k in keys)


@pytest.mark.parametrize("name", ["add", "mul"])
def test_commuted_twins_are_one_fact_and_never_cross_the_split(name: str) -> None:
    tpl = arithmetic.BY_NAME[name]
    assert arithmetic.operand_key(tpl, {"a": 9, "b": 6}) == arithmetic.operand_key(
        tpl, {"a": 6, "b": 9}
    )
    assert arithmetic.operand_key(tpl, {"a": 9, "b": 6}) != arithmetic.operand_key(
        arithmetic.BY_NAME["sub"], {"a": 9, "b": 6}
    )
    frac = arithmetic.BY_NAME["frac_add"]
    one, two = {"n1": 1, "d1": 2, "n2": 3, "d2": 4}, {"n1": 3, "d1": 4, "n2": 1, "d2": 2}
    assert arithmetic.operand_key(frac, one) == arithmetic.operand_key(frac, two)
    assert arithmetic.operand_key(frac, one) != arithmetic.operand_key(
        frac, {"n1": 1, "d1": 4, "n2": 3, "d2": 2}
    )
    module = tpl.module
    for level in (1, 2):
        probes = arithmetic.write_items(module, level, 16, seed=0, probes=True)
        asked = {_pair(p.prompt) for p in probes}
        assert len(asked) == 16  # no probe is another's twin
        train = [i for s in range(3) for i in arithmetic.write_items(module, level, 60, seed=s)]
        trained = {_pair(i.prompt) for i in train}
        assert trained and not trained & asked


def _pair(prompt: str) -> tuple[int, ...]:
    """The two operands of a bare problem, smaller first."""
    return tuple(sorted(int(n) for n in re.findall(r"\d+", prompt)[:2]))


def test_a_small_space_sets_aside_its_quota_and_never_trains_on_it() -> None:
    mul = arithmetic.BY_NAME["mul"]
    space = {
        arithmetic.operand_key(mul, {"a": a, "b": b}) for a in range(2, 10) for b in range(2, 10)
    }
    aside = {k for k in space if arithmetic_holdout.held_out(k)}
    hashed = {k for k in space if arithmetic_holdout._hash(k) < arithmetic_holdout.PROBE_SHARE}
    assert len(hashed) < arithmetic_holdout.PROBE_TUPLES == len(aside) and hashed < aside
    train = [i for s in range(5) for i in arithmetic.write_items(MUL, 1, 40, seed=s)]
    trained = {arithmetic.content_key(i.prompt) for i in train}
    assert trained <= space - aside and len(trained) == len(space - aside)
    probes = arithmetic.write_items(MUL, 1, 16, seed=0, probes=True)
    assert {arithmetic.content_key(p.prompt) for p in probes} == aside
    with pytest.raises(
        ValueError, match=r"at most 16 probes a level \(identifier.probes_per_level\)"
    ):
        arithmetic.write_items(MUL, 1, 17, seed=0, probes=True)
