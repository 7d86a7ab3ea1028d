"""The `ioa` command: `main` parses and runs a subcommand (`cli.main`); `cli.progress`
prints a run as it advances, `cli.review` shows a pending review step."""

from ioa_agent.cli.main import main

__all__ = ["main"]
