"""Verdicts on the capture generator's variants: what each filmed defect or attack gets.

Every document variant (genuine, expired, altered MRZ, photocopy, screen, cut off, blurry, glare,
not tilted, damaged cards, ...) of the three document kinds, clean and hard filming, several seeds,
1280x720 at 30 fps for 4 s (the benchmark corpus; at 10 fps a screen's refresh banding is weaker:
2 of 12 screens passed in a 10 fps run), through the document stage and kycengine.decision:
"caught" when the verdict gives the variant's own reason, "approved" when it would pass (a genuine
card must, nothing else may; and never with an MRZ other than the printed one: a valid reading can be
wrong). The genuine cards also go through the whole pipeline with a live
selfie of their holder: no false refusal may come from the new checks.

    PYTHONPATH=. python -m benchmarks.verdicts [--seeds 2]
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from typing import Any

from kycengine.decision import decide
from kycengine.document.analyser import DocumentAnalyser
from kycengine.document.types import DocumentType
from kycengine.models import default_registry
from kycengine.reasons import Reason, Status
from kycengine.settings import Settings
from kycengine.synth import DocumentVariant, SelfieVariant
from kycengine.synth.document_video import EXPECTED_REASONS, Capture
from kycengine.video import decode

from .corpus import FPS, SIZE, document_case, selfie_case
from .report import Section, main_for, progress

SECONDS = 4.0


def _expected(variant: DocumentVariant) -> set[Reason]:
    """The variant's reasons the document stage gives (a swapped portrait is the face stage's)."""
    return set(EXPECTED_REASONS[variant]) - {Reason.FACE_MISMATCH}


def _row(variant: DocumentVariant, cases: list[dict[str, Any]]) -> dict[str, Any]:
    expected = _expected(variant)
    caught = sum(expected <= set(c["reasons"]) for c in cases) if expected else sum(not c["reasons"] for c in cases)
    others = Counter(",".join(sorted(set(c["reasons"]) - expected)) for c in cases if set(c["reasons"]) - expected)
    return {"variant": variant.value, "expected": ",".join(sorted(r.value for r in expected)) or "(none)",
            "cases": len(cases), "as labelled": f"{caught}/{len(cases)}",
            "approved": f"{sum(c['status'] == Status.APPROVED.value for c in cases)}/{len(cases)}",
            "approved, MRZ not the printed one": sum(c["status"] == Status.APPROVED.value and not c["mrz_correct"]
                                                     for c in cases),
            "other reasons (cases)": "; ".join(f"{k} ({n})" for k, n in others.most_common()) or "-"}


def _genuine_end_to_end(seeds: int) -> list[dict[str, Any]]:
    from kycengine import Verifier

    verifier = Verifier()
    rows = []
    for kind in DocumentType:
        for hard in (False, True):
            for seed in range(seeds):
                document = document_case(kind, DocumentVariant.GENUINE, seed, hard, seconds=SECONDS)
                selfie = selfie_case(document.labels.holder_person, SelfieVariant.LIVE, seed=seed)
                verdict = verifier.verify(document.path, selfie.path, today=document.labels.today)
                rows.append({"document": kind.value, "hard": hard, "seed": seed, "status": verdict.status.value,
                             "reasons": [r.value for r in verdict.reasons]})
    return rows


# Capture classes of ordinary customers (genuine documents, each must be approved) and the attacks
# filmed the same way (each must be refused): (name, capture, frame size, document kinds).
CAPTURES: tuple[tuple[str, Capture, tuple[int, int], tuple[DocumentType, ...]], ...] = (
    ("gentle_tilt", Capture.GENTLE_TILT, SIZE, tuple(DocumentType)),
    ("640x360", Capture.STANDARD, (640, 360), tuple(DocumentType)),
    ("gentle_tilt_640x360", Capture.GENTLE_TILT, (640, 360), tuple(DocumentType)),
    ("sleeve", Capture.SLEEVE, SIZE, (DocumentType.FR_CNI_2021, DocumentType.FR_CNI_1988)),
    ("upright", Capture.UPRIGHT, SIZE, tuple(DocumentType)),
    ("open_booklet", Capture.OPEN_BOOKLET, SIZE, (DocumentType.PASSPORT,)),
    ("foreign_passport", Capture.FOREIGN, SIZE, (DocumentType.PASSPORT,)),
)
CAPTURE_ATTACKS = (DocumentVariant.PHOTOCOPY, DocumentVariant.SCREEN, DocumentVariant.NOT_TILTED)


def run_captures(seeds: range) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Genuine documents of each capture class (approved?) and the attacks filmed the same way
    (refused with their own reason?), through the document stage and the policy; any issuing state's
    passport accepted, so that a foreign passport is judged on its document."""
    settings = Settings(accepted_passport_states=("*",))
    analyser = DocumentAnalyser(default_registry(), settings)
    raw: list[dict[str, Any]] = []
    work = [(name, capture, size, variant, kind, hard, seed) for name, capture, size, kinds in CAPTURES
            for variant in (DocumentVariant.GENUINE, *CAPTURE_ATTACKS)
            # not tilted at all is the standard capture's attack
            if not (variant is DocumentVariant.NOT_TILTED and capture is Capture.GENTLE_TILT)
            for kind in kinds for hard in (False, True) for seed in seeds]
    for name, capture, size, variant, kind, hard, seed in progress(work, "verdicts by capture"):
        case = document_case(kind, variant, seed, hard, seconds=SECONDS, capture=capture, size=size)
        video = decode(case.path, max_side=settings.max_side, target_fps=settings.document_fps)
        evidence = analyser.analyse(video, today=case.labels.today)
        decision = decide(evidence, settings=settings)
        raw.append({"capture": name, "variant": variant.value, "document": kind.value, "hard": hard,
                    "seed": seed, "status": decision.status.value, "reasons": [r.value for r in decision.reasons],
                    "mrz_correct": tuple(evidence.mrz_lines) == tuple(case.labels.mrz_lines)})
    table = []
    for name, *_ in CAPTURES:
        for variant in (DocumentVariant.GENUINE, *CAPTURE_ATTACKS):
            cases = [r for r in raw if r["capture"] == name and r["variant"] == variant.value]
            if not cases:
                continue
            row = _row(variant, cases)
            table.append({"capture": name, **row, "MRZ correct": f"{sum(c['mrz_correct'] for c in cases)}/{len(cases)}"})
    return table, raw


def run(seeds: int = 2) -> Section:
    """Every variant x document kind x filming x seed through the document stage and the policy."""
    settings = Settings()
    analyser = DocumentAnalyser(default_registry(), settings)
    raw: list[dict[str, Any]] = []
    work = [(variant, kind, hard, seed) for variant in DocumentVariant for kind in DocumentType
            for hard in (False, True) for seed in range(seeds)]
    for variant, kind, hard, seed in progress(work, "verdicts by variant"):
        try:
            case = document_case(kind, variant, seed, hard, seconds=SECONDS)
        except Exception as exc:  # a variant impossible for this kind (the generator says why)
            raw.append({"variant": variant.value, "document": kind.value, "skipped": str(exc)})
            continue
        video = decode(case.path, max_side=settings.max_side, target_fps=settings.document_fps)
        evidence = analyser.analyse(video, today=case.labels.today)
        decision = decide(evidence, settings=settings)
        raw.append({"variant": variant.value, "document": kind.value, "hard": hard, "seed": seed,
                    "status": decision.status.value, "reasons": [r.value for r in decision.reasons],
                    "mrz_correct": tuple(evidence.mrz_lines) == tuple(case.labels.mrz_lines)})
    by_variant: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in raw:
        if "skipped" not in row:
            by_variant[row["variant"]].append(row)
    table = [{"capture": "standard", **_row(DocumentVariant(v), cases)} for v, cases in by_variant.items()]
    captures, captures_raw = run_captures(range(seeds))
    table += captures
    raw += captures_raw
    genuine = _genuine_end_to_end(seeds)
    approved = sum(r["status"] == Status.APPROVED.value for r in genuine)
    refused = [r for r in genuine if r["status"] == Status.REFUSED.value]
    skipped = sorted({f"{r['variant']}/{r['document']}" for r in raw if "skipped" in r})
    notes = (f"document stage + policy; {len(DocumentType)} kinds x clean/hard x seeds 0-{seeds - 1}, 1280x720, "
             f"{FPS} fps, {SECONDS:g} s; 'as labelled': the variant's own reason given (genuine: no reason)",
             f"genuine cards end to end with a live selfie of their holder: {approved}/{len(genuine)} approved, "
             f"{len(refused)} refused" + (f" ({'; '.join(str(r['reasons']) for r in refused)})" if refused else ""),
             "variants impossible for a kind (skipped): " + (", ".join(skipped) or "none"),
             "capture classes (gentle tilt 5-13 degrees, 640x360, card in a sleeve, document held long side up, "
             "open passport with its facing page, foreign passport): genuine documents must be approved, photocopy/screen/not-tilted refused; "
             "any issuing state's passport accepted there")
    return Section("verdicts", "Verdicts: the generator's variants through the document stage and the policy",
                   table, raw + [{"end_to_end": r} for r in genuine], notes)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    main_for(lambda: run(args.seeds))
