"""Processes that never outlive their parent: the kernel's parent-death signal, and a check for the rest.

A prefork worker process and an rq scheduler process are forked children; if their parent is
killed (SIGKILL, the OOM killer) nothing else would stop them: a worker would go on taking jobs
unsupervised, a scheduler would hold its locks and its memory. On Linux `prctl(PR_SET_PDEATHSIG)`
has the kernel signal the child when its parent dies; elsewhere (and for the instant between the
fork and the prctl call) the child compares its parent id with the one it was forked from.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(signum: int, parent_pid: int) -> bool:
    """Have the kernel send `signum` to this process when its parent exits.

    Returns False when the parent is already gone (then the caller should leave at once).
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(ctypes.get_errno()))
    return not orphaned(parent_pid)


def orphaned(parent_pid: int) -> bool:
    """True when this process's parent is no longer `parent_pid` (it died; we were re-parented)."""
    return os.getppid() != parent_pid
