"""Presentation-attack detection of the liveness stage, ISO/IEC 30107-3 style.

Selfie videos are rendered by the project's generator (480x360, 10 fps, 4 s) for every person of
`synth.faces.PEOPLE`, clean and hard capture, seeds 0..N-1 (attacks) and 0..2N-1 (bona fide: more of
them, so that one error is not a 3 % step); the thresholds were calibrated on seeds 100-102 (the
blink thresholds on 200-205; the turn and identity-consistency ones, with print_rocked and
face_swap_middle, on 100-101), so these are held out. Each video goes through `LivenessChecker.assess` at the pipeline's settings,
and `FaceMatcher.match` on the same face track against the holder's portrait (a face swapped in during
the capture is the face stage's finding); a presentation is accepted when it is live and neither stage
gave a reason.

    APCER(kind) = attack presentations of that kind accepted / attacks of it
    BPCER       = bona fide presentations not accepted / bona fide

The operating point is the Settings defaults (printed with the table). BPCER is also given without
`team_c`, whose source photo is a near-profile face (its rest pose is ~60 degrees of yaw): no
customer is filmed so, and the blink cue cannot see the far eye. The cost of the selfie analysis
is measured by `benchmarks/selfie_cost.py`. Prints a table; writes benchmarks/results/liveness.json
(liveness_opencv.json for that backend; the insightface run is part of `python -m benchmarks`).

    PYTHONPATH=. python benchmarks/liveness.py [--seeds 3] [--backend insightface|opencv] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict

ATTACKS = ("print", "screen", "still", "print_rocked", "face_swap_middle")
SIZE, FPS, SECONDS = (480, 360), 10, 4.0
NEAR_PROFILE = "team_c"


class Case(TypedDict):
    """One rendered video and what the liveness stage made of it."""

    person: str
    variant: str
    seed: int
    hard: bool
    live: bool | None
    accepted: bool  # live, and the face stage (on the same track) found one person matching the portrait
    state: str
    reasons: list[str]
    scores: dict[str, float]


class Rate(TypedDict):
    """Errors among some presentations (rate None when there were none), and the cases in error."""

    n: int
    errors: int
    rate: float | None
    failed: list[str]


class Accuracy(TypedDict):
    """APCER per attack kind and BPCER (by key), attacks refused with their own reason, the cases."""

    table: dict[str, Rate]
    attack_named: dict[str, int]
    rows: list[Case]
    seconds: float
    videos: int


def _one(job: tuple[str, str, str, int, bool, str]) -> Case:
    """Render one video, assess it; runs in a worker process (models load once per worker)."""
    folder, person, variant, seed, hard, backend = job
    from kycengine.decision import decide
    from kycengine.face import FaceMatcher
    from kycengine.liveness import default_checker
    from kycengine.synth.faces import portrait
    from kycengine.synth.selfie_video import make_selfie_video
    from kycengine.video import decode

    path = Path(folder) / f"{variant}-{person}-{seed}-{'hard' if hard else 'clean'}.mp4"
    make_selfie_video(path, person=person, variant=variant, seed=seed, size=SIZE, fps=FPS, seconds=SECONDS,
                      hard=hard)
    checker = default_checker(backend)
    clip = decode(path, max_side=checker.settings.max_side, target_fps=checker.settings.selfie_fps)
    track = checker.tracker.track(clip.frames)
    evidence = checker.assess(clip, track)
    face = FaceMatcher(checker.registry, checker.settings).match(clip, portrait(person, (120, 150)), track)
    path.unlink()
    path.with_suffix(".json").unlink()
    reasons = [r.value for r in decide(evidence, face).reasons]
    return {"person": person, "variant": variant, "seed": seed, "hard": hard, "live": evidence.live,
            "accepted": evidence.live is True and not reasons, "state": evidence.state.value, "reasons": reasons,
            "scores": {**evidence.scores, **face.scores}}


def _rate(rows: list[Case], wrong: Callable[[Case], bool]) -> Rate:
    errors = [r for r in rows if wrong(r)]
    return {"n": len(rows), "errors": len(errors), "rate": len(errors) / len(rows) if rows else None,
            "failed": [f"{r['variant']}-{r['person']}-{r['seed']}-{'hard' if r['hard'] else 'clean'}: "
                       f"{','.join(r['reasons']) or 'live'}" for r in errors]}


def accuracy(seeds: int, backend: str, jobs: int) -> Accuracy:
    """APCER per attack kind and BPCER over rendered videos."""
    from kycengine.synth.faces import PEOPLE

    with tempfile.TemporaryDirectory() as folder:
        work = [(folder, person, variant, seed, hard, backend)
                for person in PEOPLE for hard in (False, True)
                for variant, count in (("live", 2 * seeds), *((a, seeds) for a in ATTACKS))
                for seed in range(count)]
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            rows = list(pool.map(_one, work, chunksize=2))
        elapsed = time.perf_counter() - started
    live = [r for r in rows if r["variant"] == "live"]
    table = {f"apcer_{kind}": _rate([r for r in rows if r["variant"] == kind], lambda r: r["accepted"])
             for kind in ATTACKS}
    table["bpcer"] = _rate(live, lambda r: not r["accepted"])
    table["bpcer_frontal"] = _rate([r for r in live if r["person"] != NEAR_PROFILE], lambda r: not r["accepted"])
    named = {  # attacks refused with their own reason (not only as 'not live')
        "print_face_print": sum("face_print" in r["reasons"] for r in rows if r["variant"] == "print"),
        "screen_face_screen": sum("face_screen" in r["reasons"] for r in rows if r["variant"] == "screen"),
        "still_suspicious_capture": sum("suspicious_capture" in r["reasons"] for r in rows if r["variant"] == "still"),
    }
    return {"table": table, "attack_named": named, "rows": rows, "seconds": round(elapsed, 1), "videos": len(rows)}


def _settings_used(backend: str) -> dict[str, object]:
    from kycengine.settings import Settings

    settings = replace(Settings(), face_backend=backend).to_dict()
    return {k: v for k, v in settings.items() if k.startswith("liveness_") or k in ("selfie_fps", "max_side",
                                                                                     "face_backend")}


def run(seeds: int = 3, backend: str = "insightface", jobs: int = 2) -> Any:
    """The benchmark as a report Section (table: APCER per attack kind, BPCER; notes: operating point)."""
    from benchmarks.report import Section

    result = accuracy(seeds, backend, jobs)
    table = result["table"]
    rows = []
    for key, label in (*((f"apcer_{a}", f"APCER {a}") for a in ATTACKS), ("bpcer", "BPCER (all people)"),
                       ("bpcer_frontal", f"BPCER (without {NEAR_PROFILE})")):
        row = table[key]
        rate = "-" if row["rate"] is None else f"{100 * row['rate']:.1f} %"  # None: no presentation of the kind
        rows.append({"metric": label, "errors": row["errors"], "presentations": row["n"],
                     "rate": rate, "failed": "; ".join(row["failed"]) or "-"})
    notes = [f"backend {backend}; {result['videos']} videos ({SIZE[0]}x{SIZE[1]}, {FPS} fps, {SECONDS:.0f} s): "
             f"7 people x clean/hard x seeds 0-{seeds - 1} per attack, 0-{2 * seeds - 1} bona fide; "
             f"{result['seconds']} s with {jobs} processes",
             "operating point: Settings() defaults " + json.dumps(_settings_used(backend)),
             f"attacks refused with their own reason: {json.dumps(result['attack_named'])}"]
    raw: list[dict[str, Any]] = [dict(r) for r in result["rows"]]
    key = "liveness" if backend == "insightface" else f"liveness_{backend}"
    return Section(key, f"Liveness: presentation-attack detection ({backend})", rows, raw, tuple(notes))


def section(seeds: int = 1) -> Any:
    """For `python -m benchmarks`."""
    return run(seeds=max(1, seeds))


def main() -> None:
    from benchmarks.report import markdown, save

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per person and capture (x2 for bona fide)")
    parser.add_argument("--backend", default="insightface", choices=("insightface", "opencv"))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    result = run(args.seeds, args.backend, args.jobs)
    print(markdown(result))
    print(f"saved {save(result)}")


if __name__ == "__main__":
    main()
