"""Diagnose: the Knowledge Identifier.

Builds (once) the module list and the held-out probe sets, measures P_T and the
current student's P_S on them, and turns the scores and the assessment history into
gaps, the prerequisite DAG, severity and targets (identifier). The probes,
answers and scores go to the run store; the diagnosis JSON to the run directory;
the state keeps only the per-module numbers and the targets.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from ioa_agent.display import progress_bar
from ioa_agent.domains.seed import build_seed_domain
from ioa_agent.identifier import diagnose as identify
from ioa_agent.items import Item
from ioa_agent.probe_scores import (
    history,
    per_level_ratio,
    per_module,
    student_scores,
    teacher_scores,
)
from ioa_agent.run import Run, atomic_write_json, derive_seed
from ioa_agent.state import Context, State


def ensure_probes(run: Run) -> list[Item]:
    """The held-out probe items: from the seed data, or written by the teacher, once."""
    if run.config.seed_data is not None:
        build_seed_domain(run)
        return run.store.items("probe")
    modules = run.store.modules()
    if not modules:
        modules = run.teacher.decompose(run.config.domain, [])
        run.store.save_modules(modules)
    probes = run.store.items("probe")
    have = {(p.module, p.level) for p in probes}
    n = run.config.identifier.probes_per_level
    for module in modules:
        for level in range(1, module.levels + 1):
            if (module.id, level) in have:
                continue
            seed = derive_seed(run.config.seed, "probe", module.id, level)
            items = run.teacher.write_items(module, level, n, seed, held_out=True)
            run.store.save_items(items, "probe", 0, run.teacher.model_id)
    return run.store.items("probe")


def diagnose(state: State, runtime: Runtime[Context]) -> State:
    with runtime.context.open() as run:
        run.teacher.node = "diagnose"
        cfg = run.config.identifier
        cycle = state.get("cycle", 0) + 1
        round = state.get("round", 0)
        probes = ensure_probes(run)
        teacher = teacher_scores(run, probes)
        with progress_bar(f"assess student (round {round})", len(probes)) as advance:
            student = student_scores(run, round, probes, advance)
        p_t, p_s = per_module(probes, teacher), per_module(probes, student)
        modules = run.store.modules()
        prior = [(pre, m.id) for m in modules for pre in m.prerequisites]
        result = identify(
            [m.id for m in modules],
            prior,
            p_t,
            p_s,
            history(run, probes),
            tau_gap=cfg.tau_gap,
            tau_high=cfg.tau_high,
            tau_low=cfg.tau_low,
            tau_dep=cfg.tau_dep,
            min_checkpoints=cfg.min_checkpoints,
            alpha=cfg.alpha,
            tau_mastery=run.config.organizer.tau_mastery,
            fraction=cfg.target_fraction,
        ).as_dict()
        atomic_write_json(run.dir / "diagnosis" / f"{cycle:03d}.json", {"round": round, **result})
        run.store.log_event(
            f"diagnose:{cycle}", "diagnose", "diagnosis", {"round": round, **result}
        )
        return {
            "cycle": cycle,
            "round": round,
            "p_t": p_t,
            "p_s": p_s,
            "level_ratios": per_level_ratio(probes, student, teacher),
            "diagnosis": result,
            "decision": "organize",
        }
