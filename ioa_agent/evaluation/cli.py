"""The `ioa eval` command: evaluate a student model, or score existing predictions.

    ioa eval --model PATH|smollm2-135m-instruct [--adapter PATH] --bench gsm8k,humaneval
             [--limit N] [--seeds 10,20,30] [--out DIR]
    ioa eval --bench NAME --predictions FILE.jsonl [--out DIR]

Writes DIR/results.jsonl (one line per sample) and DIR/summary.json / summary.md.
`add_eval_parser` adds the subcommand to an argparse subparsers object; `run_eval`
runs it and returns the exit code (2, with one line on stderr, for bad input).
`python -m ioa_agent.evaluation.cli ...` runs the same command on its own.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ioa_agent.evaluation.benchmarks import BENCHMARKS, Benchmark, DataSources, resolve_benchmarks
from ioa_agent.evaluation.generation import resolve_model_dir
from ioa_agent.evaluation.loaders import DataNotFoundError
from ioa_agent.evaluation.records import Problem, result_lines
from ioa_agent.evaluation.report import ResultsWriter, progress, summary_markdown, write_summary
from ioa_agent.evaluation.runner import (
    BenchRun,
    EvalSettings,
    PredictionsError,
    first,
    generate_for,
    read_predictions,
    score,
    summarize,
)
from ioa_agent.evaluation.sandbox import SandboxLimits, isolation


class UsageError(ValueError):
    """Bad command-line input; the message says what to fix."""


def _int_list(text: str, flag: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"{flag} takes comma-separated integers, got {text!r}") from None
    if not values:
        raise UsageError(f"{flag} is empty")
    return values


def add_eval_parser(subparsers: Any) -> None:
    """Add the `eval` subcommand (with `func=run_eval`) to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a student on benchmarks, or score a predictions file",
        description=__doc__.split("\n\n")[0],
    )
    _add_arguments(parser)
    parser.set_defaults(func=run_eval)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("what to evaluate (one of)")
    source.add_argument("--model", help="model folder or 'smollm2-135m-instruct'")
    source.add_argument("--predictions", type=Path, help='JSONL of {"id": ..., "output": ...}')
    parser.add_argument("--adapter", type=Path, help="LoRA adapter folder (with --model)")
    parser.add_argument(
        "--bench", required=True, help=f"comma-separated benchmarks: {','.join(BENCHMARKS)}"
    )
    parser.add_argument("--limit", type=int, help="first N problems of each benchmark")
    parser.add_argument(
        "--seeds",
        help="sample once per seed, e.g. 10,20,30,40,50 (default: greedy; dolly/vicuna sample "
        "with MiniLLM's 10,20,30,40,50)",
    )
    parser.add_argument("--out", type=Path, help="output folder (default: ./eval-TIMESTAMP)")
    parser.add_argument("--k", default="1,5,10", help="pass@k values for code (default 1,5,10)")
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data-dir",
        type=Path,
        help="offline benchmark folder holding gsm8k/test.jsonl ... (default $IOA_DATA_DIR; "
        "neither: load by Hugging Face dataset id)",
    )
    data.add_argument("--dolly-file", type=Path, help="Dolly evaluation JSONL")
    data.add_argument("--vicuna-file", type=Path, help="Vicuna JSONL with reference answers")
    data.add_argument("--lcb-file", type=Path, help="LiveCodeBench JSONL")
    data.add_argument("--gpqa-file", type=Path, help="GPQA(-Diamond) CSV or JSONL")
    data.add_argument("--mbpp-split", default="test", help="MBPP split (default test)")
    run = parser.add_argument_group("running")
    run.add_argument("--batch-size", type=int, default=16)
    run.add_argument("--max-new-tokens", type=int, help="override each benchmark's budget")
    run.add_argument("--workers", type=int, default=2, help="concurrent sandboxed programs")
    run.add_argument("--timeout", type=float, default=15.0, help="wall seconds per program")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")


def _settings(args: argparse.Namespace) -> EvalSettings:
    for flag, value in [
        ("--limit", args.limit),
        ("--batch-size", args.batch_size),
        ("--workers", args.workers),
        ("--max-new-tokens", args.max_new_tokens),
    ]:
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}")
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive, got {args.timeout}")
    base = SandboxLimits()
    return EvalSettings(
        limit=args.limit,
        seeds=_int_list(args.seeds, "--seeds") if args.seeds else None,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        workers=args.workers,
        sandbox=SandboxLimits(
            cpu_seconds=max(1, int(args.timeout)),
            wall_seconds=args.timeout,
            memory_bytes=base.memory_bytes,
        ),
        ks=_int_list(args.k, "--k"),
    )


def _check_sources(args: argparse.Namespace, benches: list[Benchmark]) -> None:
    if (args.model is None) == (args.predictions is None):
        raise UsageError("give exactly one of --model PATH and --predictions FILE")
    if args.predictions is not None:
        if len(benches) != 1:
            raise UsageError("--predictions scores one benchmark: give a single --bench NAME")
        if args.adapter is not None:
            raise UsageError("--adapter needs --model (predictions are already generated)")
        if not args.predictions.is_file():
            raise UsageError(f"predictions file {args.predictions} does not exist")
    if args.adapter is not None and not args.adapter.is_dir():
        raise UsageError(f"adapter folder {args.adapter} does not exist")


def run_eval(args: argparse.Namespace) -> int:
    """Run `ioa eval`; 0 on success, 2 (with one line on stderr) for bad input."""
    try:
        return _run(args)
    except (UsageError, DataNotFoundError, PredictionsError) as exc:
        print(f"ioa eval: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    try:
        benches = resolve_benchmarks(args.bench)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    _check_sources(args, benches)
    settings = _settings(args)
    sources = DataSources(
        data_dir=args.data_dir,
        dolly_file=args.dolly_file,
        vicuna_file=args.vicuna_file,
        lcb_file=args.lcb_file,
        gpqa_file=args.gpqa_file,
        mbpp_split=args.mbpp_split,
    )
    loaded: dict[str, list[Problem]] = {}
    for bench in benches:
        try:
            loaded[bench.name] = bench.load(sources)
        except (ValueError, KeyError) as exc:  # malformed user data, bad split name
            raise UsageError(f"{bench.name}: {exc}") from exc
    model_dir = None
    if args.model is not None:
        try:
            model_dir = resolve_model_dir(args.model)
        except (FileNotFoundError, ImportError) as exc:
            raise UsageError(str(exc)) from exc
    out_dir = args.out or Path(f"eval-{time.strftime('%Y%m%d-%H%M%S')}")
    if any(bench.scorer == "code" for bench in benches):
        _say_weak_sandbox()
    show = not args.no_progress
    writer = ResultsWriter(out_dir)
    summaries: dict[str, dict[str, Any]] = {}
    try:
        for bench in benches:
            run = _evaluate(bench, loaded[bench.name], args, model_dir, settings, show)
            writer.write(result_lines(bench.name, run.samples, run.verdicts))
            summaries[bench.name] = summarize(run, settings.ks)
    finally:
        writer.close()
    meta = {
        "model": args.model,
        "model_dir": str(model_dir) if model_dir else None,
        "adapter": str(args.adapter) if args.adapter else None,
        "predictions": str(args.predictions) if args.predictions else None,
        "limit": settings.limit,
        "seeds": list(settings.seeds) if settings.seeds else None,
        "sandbox": isolation().mode,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    write_summary(out_dir, summaries, meta)
    print(summary_markdown(summaries, meta))
    print(
        f"wrote {out_dir / 'results.jsonl'}, {out_dir / 'summary.json'}, {out_dir / 'summary.md'}"
    )
    return 0


def _say_weak_sandbox() -> None:
    """Before any code runs: the sandbox protections this machine cannot give, once."""
    iso = isolation()
    off = [
        name
        for name, on in (
            ("network isolation", iso.network_isolated),
            ("a PID namespace", iso.pid_namespace),
            ("a separate unprivileged user", iso.separate_user),
        )
        if not on
    ]
    if off:
        why = f" ({'; '.join(iso.notes)})" if iso.notes else ""
        print(
            f"ioa eval: warning: generated code runs in sandbox mode {iso.mode}, without "
            f"{', '.join(off)}{why}: the time, memory and file limits still hold",
            file=sys.stderr,
        )


def _evaluate(
    bench: Benchmark,
    problems: list[Problem],
    args: argparse.Namespace,
    model_dir: Path | None,
    settings: EvalSettings,
    show: bool,
) -> BenchRun:
    if args.predictions is not None:
        chosen, samples = read_predictions(args.predictions, bench, problems, settings.limit)
    else:
        assert model_dir is not None
        chosen = first(problems, settings.limit)
        seeds = settings.seeds if settings.seeds is not None else bench.default_seeds
        total = len(chosen) * (len(seeds) if seeds else 1)
        with progress(f"{bench.name}: generating", total, show) as advance:
            samples = generate_for(bench, chosen, model_dir, args.adapter, settings, advance)
    with progress(f"{bench.name}: scoring", len(samples), show) as advance:
        verdicts = score(bench, chosen, samples, settings, advance)
    missing = len(problems) - len(chosen) if args.predictions is not None else 0
    return BenchRun(bench, chosen, samples, verdicts, missing if settings.limit is None else 0)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ioa_agent.evaluation.cli`: the eval command on its own."""
    parser = argparse.ArgumentParser(prog="ioa eval", description=__doc__.split("\n\n")[0])
    _add_arguments(parser)
    return run_eval(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
