"""End-to-end wall time per case and per stage, against decode-only time of the same videos.

Runs in a child process (a stand-in for one worker) so that its peak RSS is the worker's own:
models loaded once, then every case of the corpus verified in turn.

    PYTHONPATH=. python -m benchmarks.end_to_end [--seeds 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import statistics
import time
from typing import Any

from kycengine.synth import SelfieVariant
from kycengine.video import iter_frames

from .corpus import genuine_documents, selfie_case
from .report import Section, main_for

TODAY = dt.date(2026, 11, 1)


def _decode_ms(path: str) -> float:
    """The floor: decoding every frame of the video at full size, nothing else."""
    start = time.perf_counter()
    for _ in iter_frames(path):
        pass
    return (time.perf_counter() - start) * 1000


def _worker(pairs: list[tuple[str, str, str]], queue: Any) -> None:
    from kycengine import Verifier

    start = time.perf_counter()
    verifier = Verifier()
    load_ms = (time.perf_counter() - start) * 1000
    rows = []
    for kind, document, selfie in pairs:
        floor = _decode_ms(document) + _decode_ms(selfie)
        begin = time.perf_counter()
        verdict = verifier.verify(document, selfie, today=TODAY)
        total = (time.perf_counter() - begin) * 1000
        rows.append({"kind": kind, "status": verdict.status.value,
                     "reasons": [r.value for r in verdict.reasons], "total_ms": total,
                     "decode_floor_ms": floor, **{f"{k}_ms": v for k, v in verdict.timings_ms.items()}})
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"rows": rows, "load_ms": load_ms, "peak_rss_mib": peak_mib})


def run(seeds: int = 1) -> Section:
    """Verify genuine document + live selfie pairs in a fresh worker-like process."""
    pairs = []
    for case in genuine_documents(seeds):
        selfie = selfie_case(case.labels.holder_person, SelfieVariant.LIVE, seed=case.labels.seed)
        kind = f"{case.labels.document_type.value}/{'hard' if case.labels.hard else 'clean'}"
        pairs.append((kind, str(case.path), str(selfie.path)))
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_worker, args=(pairs, queue))
    child.start()
    result = queue.get()
    child.join()
    rows = result["rows"]
    table = [{"case": r["kind"], "status": r["status"], "decode floor ms": round(r["decode_floor_ms"]),
              "decode ms": round(r["decode_document_ms"] + r["decode_selfie_ms"]),
              "document ms": round(r.get("document_ms", 0)), "face track ms": round(r.get("face_track_ms", 0)),
              "face ms": round(r.get("face_ms", 0)),
              "liveness ms": round(r.get("liveness_ms", 0)), "total ms": round(r["total_ms"]),
              "x decode floor": round(r["total_ms"] / r["decode_floor_ms"], 2)} for r in rows]
    ratio = statistics.median(r["total_ms"] / r["decode_floor_ms"] for r in rows)
    notes = (f"median end-to-end / decode-only ratio: {ratio:.2f}",
             f"worker peak RSS: {result['peak_rss_mib']:.0f} MiB; model loading {result['load_ms']:.0f} ms "
             f"(once per worker)",
             "decode floor = decoding every frame of both videos at full size with PyAV; "
             f"{os.cpu_count()} cores")
    return Section("end_to_end", "Speed: end to end per case (1280x720, 30 fps, 4 s + 5 s)", table,
                   [{**r, "peak_rss_mib": result["peak_rss_mib"]} for r in rows], notes)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=1)
    main_for(lambda: run(parser.parse_args().seeds))
