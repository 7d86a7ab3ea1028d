"""Benchmark evaluation of a student: `ioa eval`.

Modules, by seam: `loaders` / `user_loaders` (benchmark data), `benchmarks` (registry:
prompts, budgets, scorers), `generation` (student samples), `math_scoring`,
`choice_scoring`, `text_scoring`, `code_programs` + `code_scoring` + `sandbox` +
`confinement` (running generated code), `passk`, `runner` (one benchmark end to end),
`report` (files and progress) and `cli`. Importing this package loads no heavy library; it
trains nothing and never downloads data or models.
"""
