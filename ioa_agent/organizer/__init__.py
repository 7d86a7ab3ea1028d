"""The Organizer: IOA's curriculum maths as pure functions.

- `skills`: the curriculum's unit (a module at one level), the skill graph, the
  mastery gate and what counts as forgotten.
- `curriculum`: stages in prerequisite order, the ZPD check (Eq. 8), the routing
  decision after an assessment, and the replay share and steps of a round.
- `plan_edits`: checks of a person's changes to a curriculum step.

The `organize` node stages the targets and the `assess` node gates them. Nothing here
does I/O, calls a model or reads configuration: callers pass scores and thresholds in
and get JSON-plain values back. The only randomness is seeded.
"""
