"""ioa: distil a teacher LLM into a small student with the IOA method.

Knowledge Identifier, Organizer and Adapter (arXiv 2602.12172) as a LangGraph state
machine: diagnose → organize → review → adapt → train → assess.
"""

__version__ = "0.1.0"
