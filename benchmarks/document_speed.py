"""Document stage speed: decode alone (the floor) against decode + analyse, and the MRZ step per card.

For a 10 s 1280x720 30 fps document video of each kind (the fixed-seed corpus), decoding at the
pipeline's settings is timed alone and followed by `DocumentAnalyser.analyse`; the ratio of the two
is the stage's cost over the floor (target < 2x). Then, on one document rectified by the engine
(its own corners, the sharpest read frame, 8 px/mm), the MRZ step is timed three ways: the OCR-B
template reader (first read, which also settles the layout and the way up, and a settled read),
Tesseract's `mrz` model through the project's band finder, and PassportEye's `read_mrz` (with the
same Tesseract model, as its documentation advises) on the same image. "valid" means every check
digit valid. Times are medians of `--repeat` runs on this machine, single-threaded OCR.

    PYTHONPATH=. python -m benchmarks.document_speed [--repeat 3] [--kinds passport,fr_cni_2021]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kycengine.decision import decide
from kycengine.document import quality
from kycengine.document.analyser import DocumentAnalyser
from kycengine.document.card import rectify, refine_corners
from kycengine.document.card_mrz import CardMRZReader, mrz_zone
from kycengine.document.layout import LAYOUTS
from kycengine.document.mrz import parse
from kycengine.document.ocrb import read_mrz_zone
from kycengine.document.types import DocumentType
from kycengine.models import default_registry
from kycengine.settings import Settings
from kycengine.synth import DocumentVariant
from kycengine.video import decode

from .corpus import document_case
from .report import Section, main_for

SECONDS = 10.0
SEED = 7
CARD_PX_PER_MM = 8.0


def _median_ms(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times)), result


def _valid(lines: tuple[str, ...] | None, today: dt.date) -> bool:
    if not lines:
        return False
    try:
        return parse("\n".join(lines), today=today).valid
    except Exception:
        return False


def _passporteye(image: np.ndarray, tessdata: Path) -> tuple[float, bool]:
    from passporteye import read_mrz

    with tempfile.NamedTemporaryFile(suffix=".png") as handle:
        cv2.imwrite(handle.name, image)
        start = time.perf_counter()
        mrz = read_mrz(handle.name, extra_cmdline_params=f"--tessdata-dir {tessdata} -l mrz")
        ms = (time.perf_counter() - start) * 1000
    return ms, bool(mrz is not None and mrz.valid)


def run(repeat: int = 3, kinds: tuple[DocumentType, ...] = tuple(DocumentType)) -> Section:
    """One row per document kind."""
    settings = Settings()
    registry = default_registry()
    analyser = DocumentAnalyser(registry, settings)
    tessdata = registry.path("tesseract_mrz").parent
    rows: list[dict[str, Any]] = []
    for kind in kinds:
        case = document_case(kind, DocumentVariant.GENUINE, SEED, hard=False, seconds=SECONDS)
        today = case.labels.today

        def _decode() -> Any:
            return decode(case.path, max_side=settings.max_side, target_fps=settings.document_fps)

        analyser.analyse(_decode(), today=today)  # warm caches (templates, ONNX sessions)
        decode_ms, clip = _median_ms(_decode, repeat)
        analyse_ms, evidence = _median_ms(lambda: analyser.analyse(clip, today=today), repeat)

        # one rectified document, located by the engine itself
        scan = quality.rank_for_reading(quality.scan_frames(clip.frames, settings.document_scan_frames))[0]
        assert scan.card is not None  # rank_for_reading keeps only frames with a whole document
        grey = cv2.cvtColor(scan.frame.image, cv2.COLOR_BGR2GRAY)
        corners, _ = refine_corners(grey, scan.card.corners, reach=max(3.0, 0.012 * scan.card.width_px))
        first = CardMRZReader(analyser.reader, today=today)
        first_ms, reading = _median_ms(
            lambda: CardMRZReader(analyser.reader, today=today).read_frame(0, scan.frame.image, corners), repeat)
        first.read_frame(0, scan.frame.image, corners)
        layout = first.layout or LAYOUTS[kind]
        quad = np.roll(corners, -2, axis=0) if first.flip else corners

        def _settled() -> Any:
            zone, origin = mrz_zone(scan.frame.image, quad, layout)
            return read_mrz_zone(zone, layout, CARD_PX_PER_MM, origin, blur=first.blur)

        settled_ms, settled = _median_ms(_settled, repeat)
        card = rectify(scan.frame.image, quad, layout.size_mm, CARD_PX_PER_MM)
        tess_ms, tess = _median_ms(lambda: analyser.reader.read(card, today=today), repeat)
        pe = [_passporteye(card, tessdata) for _ in range(repeat)]
        rows.append({
            "document": kind.value, "frames decoded": len(clip.frames),
            "decode ms": round(decode_ms), "decode+analyse ms": round(decode_ms + analyse_ms),
            "ratio": round((decode_ms + analyse_ms) / decode_ms, 2),
            "reasons": ",".join(r.value for r in decide(evidence).reasons) or "-",
            "mrz read": evidence.mrz_lines == case.labels.mrz_lines,
            "ocrb first ms": round(first_ms, 1), "ocrb settled ms": round(settled_ms, 1),
            "ocrb valid": _valid(settled.lines if settled else None, today),
            "tesseract ms": round(tess_ms, 1), "tesseract valid": bool(tess is not None and tess.valid),
            "passporteye ms": round(float(np.median([p[0] for p in pe])), 1),
            "passporteye valid": all(p[1] for p in pe),
            "ocrb read ok": bool(reading is not None and reading.lines == case.labels.mrz_lines),
        })
    notes = (f"{SECONDS:.0f} s 1280x720 30 fps videos, decoded at {settings.document_fps:g} fps and "
             f"max side {settings.max_side}; medians of {repeat} runs",
             "ocrb first: the first frame of a video, trying every layout of the document's aspect class "
             "(and the other way up if needed) and every template softness; settled: a later frame, layout and "
             "softness known",
             "tesseract: the project's band finder + Tesseract mrz model on the whole rectified card; "
             "passporteye: read_mrz on the same image file")
    return Section("document_speed", "Document stage: decode floor vs decode + analyse; MRZ step per card",
                   rows, rows, notes)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(k.value for k in DocumentType))
    args = parser.parse_args()
    main_for(lambda: run(args.repeat, tuple(DocumentType(k) for k in args.kinds.split(","))))
