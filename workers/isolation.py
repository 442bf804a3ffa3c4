"""Running one case in a forked child process, so that all its memory goes back when it ends.

`kyc review reverify` runs the strict engine (30 fps: ~270 decoded 1280x720 frames per case) over
many cases in one process. No array outlives a case, yet glibc's allocator keeps the freed heap,
and how much a later case can reuse depends on fragmentation: measured, one process grew from
1.21 GB after one case to 1.97 GB by the second, and `malloc_trim` after each case left 1.25-1.46 GB
peaks that still varied with the number of cases. A child forked per case from the process that
holds the loaded models (shared copy-on-write, nothing reloaded) frees everything at exit: the
parent stays at its size and each case peaks at one case's memory, whatever the number of cases.
The child's result comes back pickled through a pipe (it is our own data); a child that dies
(a crash in native code) raises ChildProcessError instead of ending the batch.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _child(func: Callable[[], Any], conn: Any) -> None:
    try:
        conn.send((True, func()))
    except BaseException as exc:  # handed to the parent, raised there
        try:
            conn.send((False, exc))
        except Exception:  # not picklable: its text is enough
            conn.send((False, RuntimeError("".join(traceback.format_exception_only(exc)).strip())))
    finally:
        conn.close()


def call_in_child(func: Callable[[], T]) -> T:
    """`func()` computed in a forked child; its exception is raised here (ChildProcessError if it died)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(func, send), daemon=True)
    process.start()
    send.close()
    try:
        ok, value = receive.recv()
    except EOFError:
        process.join()
        raise ChildProcessError(f"the case's process died (exit code {process.exitcode})") from None
    finally:
        receive.close()
    process.join()
    if not ok:
        raise value
    return value
