"""Cost of the document damage check on one core, and what it measures, on the fixed-seed corpus.

For each document kind, genuine and every damage variant (1280x720, 30 fps, 4 s, clean and hard
filming, decoded at the pipeline's settings), the frames the document stage would hand the check
are gathered the way it does (read frames first, then the best-ranked scanned ones) and
`damage.measure` is timed in CPU seconds with OpenCV on one thread: median of `--repeat` runs.

    PYTHONPATH=. python -m benchmarks.damage_cost [--repeat 5] [--seeds 1]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import cv2
import numpy as np

from kycengine.document import damage, quality
from kycengine.document.analyser import DocumentAnalyser
from kycengine.document.layout import LAYOUTS
from kycengine.document.types import DocumentType
from kycengine.models import default_registry
from kycengine.settings import Settings
from kycengine.synth import DocumentVariant
from kycengine.video import decode

from .corpus import DAMAGED, document_case
from .report import Section, main_for


def run(repeat: int = 5, seeds: int = 1) -> Section:
    """One row per document kind and variant (clean and hard filming together)."""
    settings = Settings()
    analyser = DocumentAnalyser(default_registry(), settings)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    raw: list[dict[str, Any]] = []
    try:
        for kind in DocumentType:
            for variant in (DocumentVariant.GENUINE, *DAMAGED):
                for hard in (False, True):
                    for seed in range(seeds):
                        raw.append(_case(analyser, settings, kind, variant, hard, seed, repeat))
    finally:
        cv2.setNumThreads(threads)
    table = []
    for kind in DocumentType:
        for variant in (DocumentVariant.GENUINE, *DAMAGED):
            rows = [r for r in raw if r["document"] == kind.value and r["variant"] == variant.value]
            table.append({"document": kind.value, "variant": variant.value, "cases": len(rows),
                          "views": int(np.median([r["views"] for r in rows])),
                          "damage ms (median)": round(float(np.median([r["ms"] for r in rows])), 1),
                          "damage ms (max)": round(max(r["ms"] for r in rows), 1),
                          "found": ", ".join(sorted({k for r in rows for k in r["kinds"]})) or "-"})
    notes = ("CPU time of damage.measure (rectification of the views included) with OpenCV on one thread; "
             f"median of {repeat} runs per case",
             "found: the damage kinds the Settings() thresholds see on any case of the row")
    return Section("damage_cost", "Document damage check: cost per case on one core", table, raw, notes)


def _case(analyser: DocumentAnalyser, settings: Settings, kind: DocumentType, variant: DocumentVariant,
          hard: bool, seed: int, repeat: int) -> dict[str, Any]:
    case = document_case(kind, variant, seed, hard)
    clip = decode(case.path, max_side=settings.max_side, target_fps=settings.document_fps)
    scans = quality.scan_frames(clip.frames, settings.document_scan_frames)
    located = [s for s in scans if s.card is not None]
    reader = analyser._read_located(scans, case.labels.today)
    views, oriented = damage.gather_views(reader.readings, located)
    layout = reader.layout or LAYOUTS[kind]
    found = damage.measure(views, layout, oriented)
    times = []
    for _ in range(repeat):
        start = time.process_time()
        damage.measure(views, layout, oriented)
        times.append((time.process_time() - start) * 1000)
    return {"document": kind.value, "variant": variant.value, "hard": hard, "seed": seed, "views": len(views),
            "ms": float(np.median(times)), "kinds": list(damage.damage_kinds(found, settings)),
            **found.to_dict()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    main_for(lambda: run(args.repeat, args.seeds))
