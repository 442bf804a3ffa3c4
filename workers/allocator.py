"""glibc malloc settings for worker processes, applied by re-executing the worker before it loads anything.

A worker decodes ~3 MB frames and runs ONNX models in several threads. With glibc's defaults each
thread gets its own arena (up to 8 per core) and freed frames stay in them, because the mmap threshold
rises to the largest block freed: RSS climbs to its worst case and stays there. Two fixed settings
keep it near the live heap (`benchmarks/memory.py` measures both ways):

* `MALLOC_ARENA_MAX=2`: two arenas for all threads;
* `MALLOC_MMAP_THRESHOLD_=1048576`: blocks of 1 MiB and more (decoded frames and the decoder's
  pictures, full-frame temporaries) are their own mappings, returned to the system when freed;
  setting it also stops the threshold rising. (128 KiB gave the same memory for ~10 % more CPU,
  every crop then being a fresh mapping.)

glibc reads them once, when the process starts; the models are loaded (and the children forked from
the loaded parent) later, so the worker entry point re-executes itself with them in its environment.
A value already in the environment is kept (an operator's choice wins); other C libraries ignore them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

log = logging.getLogger(__name__)

ALLOCATOR_ENV: Mapping[str, str] = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "1048576"}


def missing_settings(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The allocator settings that `environ` does not set yet."""
    return {name: value for name, value in ALLOCATOR_ENV.items() if name not in environ}


def reexec_with_allocator_settings() -> None:
    """Replace this process by itself with the missing allocator settings in its environment (same
    PID, same command line); return at once when none is missing, as in the re-executed process."""
    missing = missing_settings()
    if not missing:
        return
    log.info("restarting with %s", " ".join(f"{k}={v}" for k, v in missing.items()))
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], {**os.environ, **missing})
