"""ioa: distil a teacher LLM into a small student with the IOA method.

Knowledge Identifier, Organizer and Adapter (arXiv 2602.12172) as a LangGraph state
machine: diagnose → organize → review → adapt → train → assess (`graph.py`, one node
per file under `nodes/`). Where each part of the method lives:

- Identifier: `identifier.py` (gaps, prerequisite graph, targets), run by
  the `diagnose` node.
- Organizer: `organizer/curriculum.py` and `organizer/skills.py` (stages, ZPD, the
  mastery gate, routing), run by the `organize` and `assess` nodes.
- Adapter: `adapter/` (writing, filters, the rendering fit, self-replay, the budget),
  run by the `adapt` node.
"""

__version__ = "0.1.0"
