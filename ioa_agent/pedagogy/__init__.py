"""The comparison side of the method, as pure functions.

- `strategies`: `ioa` and the baselines and ablations it is measured against (which
  targets, stages, rewrites and budget share each strategy uses).
- `measures`: paired measures of change on the same probes (intervals, McNemar, the
  seed-aware bootstrap) and leak checks.

The method's own parts live in `ioa_agent.identifier`, `ioa_agent.organizer` and
`ioa_agent.adapter`. Nothing here does I/O, calls a model or reads configuration.
"""
