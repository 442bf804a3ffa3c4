"""Worker memory: peak and steady RSS of one warm Verifier, with glibc's default allocator and with the
workers' allocator settings (`workers/allocator.py`), each in a fresh process.

The case is the one the targets are set for: a 10 s 1280x720 30 fps document video and a 5 s selfie
(generated), verified `cases` times in turn by one Verifier. Peak is the process's high-water RSS
(models loaded, every case run); steady is its RSS after the last case. Targets: peak < 600 MiB,
steady < 450 MiB after 20 cases.

    PYTHONPATH=. python -m benchmarks.memory [--cases 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kycengine.synth import DocumentLabels, DocumentType, DocumentVariant, SelfieVariant
from kycengine.synth.document_video import make_document_video
from workers.allocator import ALLOCATOR_ENV

from .corpus import CORPUS, FPS, SIZE, _cached, selfie_case
from .report import Section, main_for

ROOT = Path(__file__).resolve().parents[1]
PEAK_TARGET_MIB = 600
STEADY_TARGET_MIB = 450
DOCUMENT_SECONDS = 10.0
TODAY = dt.date(2026, 11, 1)


def _status_mib() -> dict[str, float]:
    """This process's current (VmRSS) and high-water (VmHWM) resident memory, MiB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0]) / 1024
    return out


def _cpu_s() -> float:
    """CPU time of this process, all threads, user and system (steadier than wall time on a shared machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(document: str, selfie: str, cases: int) -> dict[str, Any]:
    """Inside the fresh process: load once, verify `cases` times, report RSS along the way."""
    from kycengine import Verifier

    verifier = Verifier()
    loaded = _status_mib()["VmRSS"]
    after, statuses, seconds, cpu = [], set(), [], []
    reasons: set[str] = set()
    for _ in range(cases):
        start, used = time.perf_counter(), _cpu_s()
        verdict = verifier.verify(document, selfie, today=TODAY)
        seconds.append(time.perf_counter() - start)
        cpu.append(_cpu_s() - used)
        statuses.add(verdict.status.value)
        reasons.update(reason.value for reason in verdict.reasons)
        after.append(_status_mib()["VmRSS"])
    return {"loaded_mib": loaded, "peak_mib": _status_mib()["VmHWM"], "after_each_mib": after,
            "statuses": sorted(statuses), "reasons": sorted(reasons), "seconds": seconds, "cpu_seconds": cpu}


def _videos() -> tuple[Path, Path]:
    """The 10 s document (generated once into the corpus) and a 5 s live selfie of its holder."""
    path = CORPUS / f"memory-doc-passport-{DOCUMENT_SECONDS:.0f}s-0.mp4"
    labels = _cached(path, DocumentLabels, lambda: make_document_video(
        path, document_type=DocumentType.PASSPORT, variant=DocumentVariant.GENUINE, seed=0, hard=False,
        size=SIZE, fps=FPS, seconds=DOCUMENT_SECONDS))
    return path, selfie_case(labels.holder_person, SelfieVariant.LIVE, seed=0).path


def _measure(document: Path, selfie: Path, cases: int, allocator: bool) -> dict[str, Any]:
    """One fresh process: glibc's defaults (no MALLOC_* variable) or the workers' settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
    if allocator:
        env.update(ALLOCATOR_ENV)
    done = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--child", str(document), str(selfie),
                           "--cases", str(cases)], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(cases: int = 20) -> Section:
    """Peak and steady RSS with and without the workers' allocator settings."""
    document, selfie = _videos()
    raw, table = [], []
    for allocator in (False, True):
        result = _measure(document, selfie, cases, allocator)
        name = " ".join(f"{k}={v}" for k, v in ALLOCATOR_ENV.items()) if allocator else "glibc defaults"
        steady = result["after_each_mib"][-1]
        raw.append({"allocator": name, **result})
        table.append({"allocator": name, "models loaded MiB": round(result["loaded_mib"]),
                      "peak MiB": round(result["peak_mib"]), f"steady MiB after {cases} cases": round(steady),
                      "peak < 600": result["peak_mib"] < PEAK_TARGET_MIB,
                      "steady < 450": steady < STEADY_TARGET_MIB,
                      "median case s": round(statistics.median(result["seconds"]), 2),
                      "median case CPU s": round(statistics.median(result["cpu_seconds"]), 2),
                      "verdicts": ", ".join(result["statuses"] + result["reasons"])})
    baseline, tuned = raw
    notes = (f"{DOCUMENT_SECONDS:.0f} s {SIZE[0]}x{SIZE[1]} {FPS} fps passport video + 5 s selfie, one Verifier, "
             f"{cases} cases in a fresh process per row; targets: peak < {PEAK_TARGET_MIB} MiB, steady < "
             f"{STEADY_TARGET_MIB} MiB",
             f"with the workers' settings: peak x{tuned['peak_mib'] / baseline['peak_mib']:.2f}, steady "
             f"x{tuned['after_each_mib'][-1] / baseline['after_each_mib'][-1]:.2f} of glibc's defaults "
             f"measured in the same run; CPU per case x{statistics.median(tuned['cpu_seconds']) / statistics.median(baseline['cpu_seconds']):.2f}",
             "workers apply the settings by restarting themselves before loading models (workers/allocator.py)")
    return Section("memory", f"Memory: worker RSS over {cases} cases", table, raw, notes)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--child", nargs=2, metavar=("DOCUMENT", "SELFIE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        document, selfie = args.child
        print(json.dumps(_child(document, selfie, args.cases)))
    else:
        main_for(lambda: run(args.cases))
