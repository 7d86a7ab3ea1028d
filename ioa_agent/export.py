"""`ioa export`: a run's curriculum as a Hugging Face dataset folder, with its adapter.

    OUT/README.md                 dataset card: YAML metadata (configs, features, the run)
    OUT/data/train.jsonl          every training item the Adapter kept, with provenance
    OUT/data/probes.jsonl         the held-out probes (`held_out: true`), never trained on
                                  (or *.parquet with --format parquet)
    OUT/adapter/                  the final round's LoRA adapter (PEFT) and its model card

`datasets.load_dataset(OUT)` reads the two splits; `PeftModel.from_pretrained(base, OUT /
"adapter")` and `vllm serve BASE --enable-lora --lora-modules NAME=OUT/adapter` load the
adapter. Rows carry every field of `Item` (`model_dump`, so new fields flow through) plus
round, stage, origin, seed id, teacher, prompt template and verification. The folder is
written beside OUT and renamed into place. This module reads the run; it changes nothing
in it and uploads nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from ioa_agent.items import Item
from ioa_agent.probe_scores import per_module

if TYPE_CHECKING:
    from datasets import Features

    from ioa_agent.run import Run

Format = Literal["jsonl", "parquet"]
SPLITS = ("train", "probes")
SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
# provenance columns added to the Item's own fields, with their types
PROVENANCE: dict[str, str] = {
    "id": "string",
    "round": "int64",
    "stage": "int64",
    "held_out": "bool",
    "origin": "string",
    "seed_id": "string",
    "teacher": "string",
    "prompt_template": "string",
    "verified": "bool",
    "verifier": "string",
    "teacher_correct": "bool",
    "completion": "string",
}


class ExportError(ValueError):
    """An export that cannot be written; the message says what to fix."""


def _round_stages(run: Run) -> dict[int, int]:
    """Round -> curriculum stage (1-based), from the assess node's gate events."""
    return {e["payload"]["round"]: e["payload"]["stage"] + 1 for e in run.store.events("gate")}


def _item(row: dict[str, Any]) -> Item:
    fields = {k: row[k] for k in Item.model_fields if k in row and k != "tests"}
    return Item(**fields, tests=json.loads(row.get("tests") or "[]"))


def curriculum_rows(run: Run) -> dict[str, list[dict[str, Any]]]:
    """The rows of the `train` and `probes` splits, in the order the run made them."""
    db = run.store.db
    seeds = {r["id"] for r in db["items"].rows_where("role = ?", ["seed"])}
    stages = _round_stages(run)
    teacher_answers = run.store.teacher_answers()
    builtin = run.config.teacher.kind == "builtin"
    verifier = run.config.seed_data.scorer if run.config.seed_data else "arithmetic"

    def row(raw: dict[str, Any], held_out: bool) -> dict[str, Any]:
        item = _item(raw)
        if held_out:
            origin = "seed" if raw["teacher"].startswith("seed:") else "teacher"
        elif raw["id"] in seeds:
            origin = "seed"
        else:
            origin = "rewritten" if item.strategy else "synthesized"
        if builtin:
            template = "builtin" if origin != "seed" else ""
        else:
            template = {
                "seed": "",
                "teacher": "write_items.j2",
                "synthesized": "synthesize.j2",
                "rewritten": "synthesize.j2+rewrite.j2",
            }[origin]
        answer = teacher_answers.get(raw["id"])
        parent_seed = item.parent if item.parent in seeds else ""

        return {
            **item.model_dump(),
            "id": raw["id"],
            "round": raw["round"],
            "stage": stages.get(raw["round"], 0),
            "held_out": held_out,
            "origin": origin,
            "seed_id": raw["id"] if origin == "seed" else parent_seed,
            "teacher": raw["teacher"],
            "prompt_template": template,
            "verified": not held_out,  # the Adapter stores only items that passed
            "verifier": verifier,
            "teacher_correct": None if answer is None else bool(answer["correct"]),
            "completion": item.completion(),
        }

    out: dict[str, list[dict[str, Any]]] = {}
    for split, role in (("train", "train"), ("probes", "probe")):
        rows = db["items"].rows_where("role = ?", [role], order_by="round, rowid")
        out[split] = [row(r, split == "probes") for r in rows]
    return out


def _value_type(annotation: Any) -> str:
    name = getattr(annotation, "__name__", str(annotation))
    return {"int": "int64", "float": "float64", "bool": "bool"}.get(name, "string")


def features() -> Features:
    """The splits' features: every Item field (lists of strings for list fields), then
    the provenance columns."""
    from datasets import Features, Sequence, Value

    out: dict[str, Any] = {}
    for name, field in Item.model_fields.items():
        text = str(field.annotation)
        out[name] = (
            Sequence(Value("string"))
            if text.startswith("list")
            else Value(_value_type(field.annotation))
        )
    for name, kind in PROVENANCE.items():
        out[name] = Value(kind)
    return Features(out)


def results_by_round(run: Run) -> list[dict[str, Any]]:
    """Per assessed round: the student's accuracy per module on the probes."""
    probes = run.store.items("probe")
    out = []
    for rnd in run.store.assessed_rounds():
        scores = {r["item_id"]: r["correct"] for r in run.store.assessment(rnd)}
        if all(p.id in scores for p in probes):
            out.append({"round": rnd, "p_s": per_module(probes, scores)})
    return out


def teacher_accuracy(run: Run) -> dict[str, float]:
    probes = run.store.items("probe")
    answers = run.store.teacher_answers()
    if not probes or not all(p.id in answers for p in probes):
        return {}
    return per_module(probes, {p.id: answers[p.id]["correct"] for p in probes})


def final_adapter(run: Run) -> Path | None:
    """The adapter of the last trained round (complete: it holds metrics.json)."""
    rounds = sorted(run.dir.glob("rounds/[0-9]*/adapter/metrics.json"))
    return rounds[-1].parent if rounds else None


def _metadata(run: Run, counts: dict[str, int], fmt: Format, feats: Features) -> dict[str, Any]:
    from datasets import DatasetInfo
    from datasets.info import DatasetInfosDict
    from datasets.splits import SplitDict, SplitInfo
    from huggingface_hub import DatasetCardData

    cfg = run.config
    usage = run.store.teacher_usage()
    cost = sum(r["cost"] for r in run.store.teacher_usage_by_node())
    ext = "jsonl" if fmt == "jsonl" else "parquet"
    splits = SplitDict()
    for split in SPLITS:
        splits.add(SplitInfo(name=split, num_examples=counts[split]))
    card = DatasetCardData(
        pretty_name=f"IOA curriculum of run {run.id}",
        tags=["ioa-agent", "synthetic", "distillation", "curriculum"],
        task_categories=["text-generation"],
        configs=[
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"data/{s}.{ext}"} for s in SPLITS],
            }
        ],
    )
    DatasetInfosDict({"default": DatasetInfo(features=feats, splits=splits)}).to_dataset_card_data(
        card
    )
    meta = card.to_dict()
    meta["ioa"] = {
        "run": run.id,
        "domain": cfg.domain,
        "seed_data": cfg.seed_data.path if cfg.seed_data else None,
        "strategy": cfg.strategy,
        "teacher": {
            "kind": cfg.teacher.kind,
            "model": cfg.teacher.model if cfg.teacher.kind == "llm" else "builtin",
            "calls": usage["calls"],
            "tokens_in": usage["tokens_in"],
            "tokens_out": usage["tokens_out"],
            "cost": round(cost, 6),
        },
        "student": cfg.student.model,
        "config": {
            "seed": cfg.seed,
            "max_rounds": cfg.max_rounds,
            "max_cycles": cfg.max_cycles,
            "adapter": {"seeds_per_module": cfg.adapter.seeds_per_module, "j": cfg.adapter.j},
            "train": {
                k: getattr(cfg.train, k)
                for k in ("lora_r", "lora_alpha", "learning_rate", "steps_per_round", "batch_size")
            },
        },
        "teacher_accuracy": teacher_accuracy(run),
        "results": results_by_round(run),
    }
    return meta


def _results_table(meta: dict[str, Any]) -> str:
    results, teacher = meta["ioa"]["results"], meta["ioa"]["teacher_accuracy"]
    if not results:
        return "No round was assessed yet."
    modules = sorted({m for r in results for m in r["p_s"]} | set(teacher))
    head = "| module | teacher | " + " | ".join(f"round {r['round']}" for r in results) + " |"
    rule = "|---" * (len(results) + 2) + "|"
    lines = [head, rule]
    for m in modules:
        cells = [f"{r['p_s'][m]:.2f}" if m in r["p_s"] else "-" for r in results]
        t = f"{teacher[m]:.2f}" if m in teacher else "-"
        lines.append(f"| {m} | {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def dataset_card(meta: dict[str, Any], counts: dict[str, int]) -> str:
    ioa = meta["ioa"]
    t = ioa["teacher"]
    body = f"""# IOA curriculum: run `{ioa["run"]}`

Training data written by a teacher for a student with
[ioa-agent](https://arxiv.org/abs/2602.12172) (Knowledge Identifier, Organizer, Adapter).

- domain: {ioa["domain"]}{f" (seed data `{ioa['seed_data']}`)" if ioa["seed_data"] else ""}
- teacher: `{t["model"]}`: {t["calls"]} calls, {t["tokens_in"]} tokens in, \
{t["tokens_out"]} out, cost {t["cost"]}
- student: `{ioa["student"]}`; strategy `{ioa["strategy"]}`
- splits: `train` ({counts["train"]} items the student was trained on), `probes` \
({counts["probes"]} held-out items, `held_out: true`, never trained on)

```python
from datasets import load_dataset
data = load_dataset("path/to/this/folder")
```

Columns: the item (`module`, `level`, `prompt`, `answer`, `rationale`, `completion`: the text
the student was trained to write, `strategy`, `variant`, `parent`, `tests`, ...), and its
provenance: `round` and curriculum `stage` it was made for, `origin` (seed, synthesized,
rewritten, teacher), `seed_id`, `teacher` (model id, or `seed:SOURCE`), `prompt_template`,
`verified`/`verifier` (training items passed the domain's check), and for probes
`teacher_correct`.

## Student accuracy on the probes, per module and round

Round 0 is the base student; later rounds are the adapter trained in that round.

{_results_table(meta)}

The final adapter (PEFT LoRA) is in `adapter/` when the run trained one.
"""
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n\n" + body


def adapter_card(run: Run, base: str, source: Path, meta: dict[str, Any]) -> str:
    front = {"library_name": "peft", "tags": ["ioa-agent", "lora", "trl", "sft"]}
    if base:
        front["base_model"] = base
    last = meta["ioa"]["results"][-1] if meta["ioa"]["results"] else None
    scores = ", ".join(f"{m} {v:.2f}" for m, v in last["p_s"].items()) if last else "not assessed"
    return (
        "---\n"
        + yaml.safe_dump(front, sort_keys=False)
        + f"""---

# LoRA adapter of IOA run `{run.id}`

The student `{run.config.student.model}` after the curriculum of run `{run.id}` (adapter of
`{source.parent.name}` round folder; data in the dataset folder above). Probe accuracy per
module at the last assessed round: {scores}.

```python
from peft import PeftModel
from transformers import AutoModelForCausalLM
base = AutoModelForCausalLM.from_pretrained("{base or "BASE_MODEL"}")
model = PeftModel.from_pretrained(base, "path/to/adapter")
```

With vLLM: `vllm serve {base or "BASE_MODEL"} --enable-lora --lora-modules ioa=path/to/adapter`.
"""
    )


def export_run(run: Run, out: Path, fmt: Format = "jsonl") -> dict[str, Any]:
    """Write the run's dataset folder (and adapter) to `out`; return what was written."""
    from datasets import Dataset

    if fmt not in ("jsonl", "parquet"):
        raise ExportError(f"unknown format {fmt!r}: use jsonl or parquet")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out} exists and is not empty: pass another --out or delete it")
    rows = curriculum_rows(run)
    if not rows["train"] and not rows["probes"]:
        raise ExportError(f"run {run.id} holds no items yet: run or resume it first")
    feats = features()
    staging = out.with_name(f".{out.name}.tmp")
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "data").mkdir(parents=True)
    counts = {}
    for split in SPLITS:
        data = Dataset.from_list(rows[split], features=feats)
        path = staging / "data" / f"{split}.{fmt}"
        if fmt == "jsonl":
            data.to_json(str(path), lines=True, force_ascii=False)
        else:
            data.to_parquet(str(path))
        counts[split] = len(data)
    meta = _metadata(run, counts, fmt, feats)
    (staging / "README.md").write_text(dataset_card(meta, counts), encoding="utf-8")
    adapter = final_adapter(run)
    if adapter is not None:
        # training_args.bin is a pickle of the trainer's arguments: not part of a PEFT adapter
        shutil.copytree(adapter, staging / "adapter", ignore=shutil.ignore_patterns("*.bin"))
        model = run.config.student.model
        base = SMOLLM2_HUB_ID if model.lower() == "smollm2-135m-instruct" else model
        base = "" if Path(base).expanduser().exists() else base  # a local folder: no hub id
        (staging / "adapter" / "README.md").write_text(
            adapter_card(run, base, adapter, meta), encoding="utf-8"
        )
    if out.exists():
        out.rmdir()
    staging.rename(out)
    return {"out": out, "counts": counts, "adapter": adapter}
