"""The worker's allocator settings: the process restarts itself with them, keeping an operator's values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from workers.allocator import ALLOCATOR_ENV, missing_settings

ROOT = Path(__file__).resolve().parents[1]
PROBE = ("import os; from workers.allocator import reexec_with_allocator_settings as restart; "
         "pid = os.getpid(); restart(); "
         "print(os.getpid() == pid, os.environ.get('MALLOC_ARENA_MAX'), os.environ.get('MALLOC_MMAP_THRESHOLD_'))")


def _run(**extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_ENV} | extra
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def test_worker_process_restarts_itself_with_the_settings() -> None:
    assert _run() == "True 2 1048576"  # same process (PID), now with both settings


def test_an_operators_value_is_kept() -> None:
    assert _run(MALLOC_ARENA_MAX="4") == "True 4 1048576"


def test_nothing_missing_means_no_restart() -> None:
    assert missing_settings(dict(ALLOCATOR_ENV)) == {}
    assert missing_settings({}) == dict(ALLOCATOR_ENV)
