"""The pedagogy: IOA's curriculum maths as pure functions.

- `identifier`: gaps, the prerequisite graph (Eq. 3), severity and target selection.
- `organizer`: stages in prerequisite order, the ZPD check (Eq. 8), mastery gates,
  the routing decision after an assessment, and replay sizing.
- `adapter`: which rewrite strategies an item gets, and the filter that keeps only
  verified, non-duplicate, non-leaking items.

Nothing here does I/O, calls a model or reads configuration: callers pass scores and
thresholds in and get JSON-plain values back. The only randomness is seeded.
"""
