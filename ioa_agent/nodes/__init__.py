"""The graph's nodes, one per file: diagnose, organize, review, adapt, train, assess."""
