"""The pedagogy: IOA's curriculum maths as pure functions.

- `identifier`: gaps, the prerequisite graph (Eq. 3), severity and target selection.
- `organizer`: stages in prerequisite order, the ZPD check (Eq. 8), mastery gates,
  the routing decision after an assessment, and replay sizing.
- `skills`: the curriculum's unit (a module at one level), the skill graph and gate.
- `strategies`: the baselines and ablations; `plan_edits`: checks of a person's
  changes to a step; `measures`: paired measures of change.

The Adapter's rules (rewrite strategies, the keep filters, the rendering pick) live
with the rest of the Adapter, in `ioa_agent.adapter`.

Nothing here does I/O, calls a model or reads configuration: callers pass scores and
thresholds in and get JSON-plain values back. The only randomness is seeded.
"""
