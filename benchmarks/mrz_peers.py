"""MRZ read rate, field accuracy and time per image: kycengine beside PassportEye, same images.

For every genuine document video of the corpus (three kinds, clean and hard filming), both readers
get (a) the sharpest raw frame and (b) that frame rectified with the generator's ground-truth
corners (so the comparison isolates MRZ reading from card detection). PassportEye runs with
Tesseract's `mrz` model, as its documentation advises. kycengine also reads the whole video with
its per-character vote. "read" means every check digit valid; "fields" means the document number,
names, birth date and expiry all equal the ground truth.

    PYTHONPATH=. python -m benchmarks.mrz_peers [--seeds 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kycengine.document.mrz import MRZ, parse
from kycengine.document.reader import default_reader
from kycengine.models import default_registry
from kycengine.video import decode, frame_quality

from .corpus import DocumentCase, genuine_documents
from .report import Section, main_for

PX_PER_MM = 10.0
TODAY = dt.date(2026, 11, 1)


def _rectify(frame: np.ndarray, corners: Any, size_mm: tuple[float, float]) -> np.ndarray:
    width, height = (int(round(v * PX_PER_MM)) for v in size_mm)
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(np.asarray(corners, np.float32), target)
    return cv2.warpPerspective(frame, matrix, (width, height), flags=cv2.INTER_CUBIC)


def _truth(case: DocumentCase) -> MRZ:
    return parse("\n".join(case.labels.mrz_lines), today=TODAY)


def _fields_equal(fields: dict[str, Any], truth: MRZ) -> bool:
    t = truth.fields
    return (fields.get("number", "").rstrip("<") == t.document_number
            and fields.get("surname") == t.surname and fields.get("names") == t.given_names
            and fields.get("birth") == t.birth_date and fields.get("expiry") == t.expiry_date)


def _ours(image: np.ndarray, truth: MRZ) -> tuple[bool, bool, float]:
    start = time.perf_counter()
    mrz = default_reader().read(image, today=TODAY)
    ms = (time.perf_counter() - start) * 1000
    if mrz is None:
        return False, False, ms
    f = mrz.fields
    fields = {"number": f.document_number, "surname": f.surname, "names": f.given_names,
              "birth": f.birth_date, "expiry": f.expiry_date}
    return mrz.valid, _fields_equal(fields, truth), ms


def _passporteye(image: np.ndarray, truth: MRZ, tessdata: Path) -> tuple[bool, bool, float]:
    from passporteye import read_mrz

    with tempfile.NamedTemporaryFile(suffix=".png") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PassportEye 2.2.2 on scikit-image 0.26
        cv2.imwrite(handle.name, image)
        start = time.perf_counter()
        mrz = read_mrz(handle.name, extra_cmdline_params=f"--tessdata-dir {tessdata} -l mrz")
        ms = (time.perf_counter() - start) * 1000
    if mrz is None:
        return False, False, ms
    d = mrz.to_dict()

    def date(text: str, future: bool) -> dt.date | None:
        try:
            day = dt.datetime.strptime(text, "%y%m%d").date()
        except ValueError:
            return None
        return day.replace(year=day.year - 100) if not future and day > TODAY else day

    fields = {"number": d.get("number", ""), "surname": d.get("surname", "").strip(),
              "names": " ".join(d.get("names", "").split()),
              "birth": date(d.get("date_of_birth", ""), False),
              "expiry": date(d.get("expiration_date", ""), True)}
    return bool(mrz.valid), _fields_equal(fields, truth), ms


def run(seeds: int = 2) -> Section:
    """Read rates and timings per document kind and filming condition."""
    tessdata = default_registry().path("tesseract_mrz").parent
    rows: list[dict[str, Any]] = []
    for case in genuine_documents(seeds):
        truth = _truth(case)
        video = decode(case.path, max_side=None)
        best = max(video.frames, key=lambda f: frame_quality(f.proxy).sharpness)
        rectified = _rectify(best.image, case.labels.corners[best.index],
                             case.labels.document_type.size_mm)
        start = time.perf_counter()
        voted = default_reader().read_frames(decode(case.path, target_fps=10).frames, today=TODAY)
        vote_ms = (time.perf_counter() - start) * 1000
        row = {"kind": case.labels.document_type.value, "filming": "hard" if case.labels.hard else "clean",
               "video_vote_read": bool(voted and voted.valid), "video_vote_ms": vote_ms}
        for name, image in (("raw", best.image), ("rectified", rectified)):
            for tool, reader in (("kycengine", _ours), ("passporteye", _passporteye)):
                args = (image, truth, tessdata) if tool == "passporteye" else (image, truth)
                read, fields, ms = reader(*args)
                row.update({f"{tool}_{name}_read": read, f"{tool}_{name}_fields": fields,
                            f"{tool}_{name}_ms": ms})
        rows.append(row)
    return Section("mrz", "MRZ: kycengine vs PassportEye (same frames)", _summarise(rows), rows)


def _summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = []
    for kind in sorted({r["kind"] for r in rows}):
        for filming in ("clean", "hard"):
            group = [r for r in rows if r["kind"] == kind and r["filming"] == filming]
            if not group:
                continue
            line: dict[str, Any] = {"document": kind, "filming": filming, "videos": len(group),
                                    "kyc video vote read": _rate(group, "video_vote_read")}
            for name in ("raw", "rectified"):
                for tool, label in (("kycengine", "kyc"), ("passporteye", "PassportEye")):
                    line[f"{label} {name} read"] = _rate(group, f"{tool}_{name}_read")
                    line[f"{label} {name} fields"] = _rate(group, f"{tool}_{name}_fields")
                    line[f"{label} {name} ms"] = round(float(np.median([r[f"{tool}_{name}_ms"] for r in group])))
            table.append(line)
    return table


def _rate(rows: list[dict[str, Any]], key: str) -> str:
    return f"{sum(bool(r[key]) for r in rows)}/{len(rows)}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=int(os.environ.get("KYC_BENCH_SEEDS", 2)))
    main_for(lambda: run(parser.parse_args().seeds))
