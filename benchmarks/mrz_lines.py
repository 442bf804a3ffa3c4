"""MRZ line finding on cluttered and rotated stills: read rate, correctness and time per still.

Stills come from `kycengine.synth.mrz_stills`: a passport or a 2021 card on a sheet, with an extra
OCR-B line above or below the MRZ, a printed text row or an annotation box under it, the page rotated
by an arbitrary angle, or turned a quarter with a red overprint; a blank sheet must give nothing.
"valid" means every check digit passes, "correct" that the lines equal the printed ones, "wrong" a
reading returned that is not the printed MRZ (on a blank sheet: any reading at all), "wrong valid"
one of those whose check digits all pass (the dangerous kind).

    PYTHONPATH=. python -m benchmarks.mrz_lines
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np

from kycengine.document.reader import default_reader
from kycengine.document.types import DocumentType
from kycengine.synth.mrz_stills import StillClass, make_still

from .report import Section, main_for

TODAY = dt.date(2026, 11, 1)
KINDS = (DocumentType.PASSPORT, DocumentType.FR_CNI_2021)


def run(seeds: int = 2) -> Section:
    """Per still class: valid, correct and wrong readings over `seeds` seeds x document kinds."""
    reader = default_reader()
    rows: list[dict[str, Any]] = []
    for still_class in StillClass:
        for kind in KINDS:
            for seed in range(seeds):
                still = make_still(still_class, seed, document_type=kind)
                start = time.perf_counter()
                mrz = reader.read(still.image, today=TODAY)
                ms = (time.perf_counter() - start) * 1000
                correct = mrz is not None and tuple(mrz.lines) == still.mrz_lines
                rows.append({"class": still_class.value, "kind": kind.value, "seed": seed,
                             "angle": round(still.angle, 1), "read": mrz is not None,
                             "valid": bool(mrz and mrz.valid), "correct": correct,
                             "wrong": mrz is not None and not correct, "ms": ms})
    return Section("mrz_lines", "MRZ line finding on cluttered and rotated stills", _summarise(rows), rows,
                   notes=("valid: every check digit passes; correct: equal to the printed lines; wrong: a reading "
                          "returned that is not the printed MRZ (any reading on a blank sheet)",))


def _summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = []
    for still_class in StillClass:
        group = [r for r in rows if r["class"] == still_class.value]
        table.append({"still": still_class.value, "stills": len(group),
                      "valid": sum(r["valid"] for r in group), "correct": sum(r["correct"] for r in group),
                      "wrong": sum(r["wrong"] for r in group),
                      "wrong valid": sum(r["wrong"] and r["valid"] for r in group),
                      "ms per still": round(float(np.median([r["ms"] for r in group])))})
    return table


if __name__ == "__main__":
    main_for(run)
