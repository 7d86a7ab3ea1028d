"""Advice on a valid config: what it sets to no effect, and a gate too weak to trust.

`load_config` warns with each line (`ConfigWarning`); nothing here rejects a config
(`Config`'s validators do) or changes it.
"""

from __future__ import annotations

from ioa_agent.config import GATE_PROBES, Config


def ineffective_fields(config: Config) -> list[str]:
    """One line per field the config sets where it has no effect: the field and why."""
    out: list[str] = []
    if config.seed_data is not None and "probes_per_level" in config.identifier.model_fields_set:
        out.append(
            "field `identifier.probes_per_level` has no effect with `seed_data`: probes are "
            "held out per module (`seed_data.probes_per_module`)"
        )
    if config.student.backend == "vllm" and "batch_size" in config.assess.model_fields_set:
        out.append(
            "field `assess.batch_size` has no effect with `student.backend: vllm`: the server "
            "batches the requests in flight (`student.vllm_concurrency`); it is used only when "
            "vLLM is missing and assessment falls back to transformers"
        )
    return out


def weak_gate(config: Config) -> str | None:
    """A line when the mastery gate judges skills on fewer probes than tell 0.9 from luck."""
    n = config.organizer.gate_min_probes
    if n >= GATE_PROBES or config.seed_data is not None:  # seed data: as many as it holds
        return None
    return (
        f"the mastery gate judges each skill on {n} probes (identifier.probes_per_level): "
        f"{GATE_PROBES} or more tell 0.9 from luck"
    )


def advice(config: Config) -> list[str]:
    """Every line of advice on `config`, in order."""
    weak = weak_gate(config)
    return [*ineffective_fields(config), *([weak] if weak else [])]
