"""Children that die with their parent: the training subprocess and the vLLM server.

`die_with_parent()` gives a `preexec_fn` for `subprocess.Popen` that asks Linux (prctl
PR_SET_PDEATHSIG) to SIGKILL the child when the process that started it dies, so a
killed `ioa run` leaves no trainer or server behind. Elsewhere it returns None.

This module does not start, watch or stop processes.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that kills the child with its parent (Linux); None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None

    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec
