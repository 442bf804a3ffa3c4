"""Presentation-attack detection of the liveness stage, ISO/IEC 30107-3 style.

Selfie videos are rendered by the project's generator (480x360, 10 fps, 4 s) for every person of
`synth.faces.PEOPLE`, clean and hard capture, seeds 0..N-1 (attacks) and 0..2N-1 (bona fide: more of
them, so that one error is not a 3 % step); the thresholds were calibrated on seeds 100-102 (the
blink thresholds on 200-205; the turn and identity-consistency ones, with print_rocked and
face_swap_middle, on 100-101), so these are held out. Each video goes through `LivenessChecker.assess` at the pipeline's settings,
and `FaceMatcher.match` on the same face track against the holder's portrait (a face swapped in during
the capture is the face stage's finding); a presentation is accepted when it is live and neither stage
gave a reason. The attack classes are
the table ATTACKS: generator variant -> the reason that names the attack (a class is added by adding its row).

    APCER(kind) = attack presentations of that kind accepted / attacks of it
    BPCER       = bona fide presentations not accepted / bona fide

Each is measured twice where a capture challenge changes it. Passive (upload): the video alone, as an
uploaded selfie is checked. With capture challenge (`kycengine.capture`): the replay classes of
CHALLENGED show a live selfie that performs a challenge X (a recording follows its script at best:
the right turns and the blink in X's windows; a looped 1 s clip cannot follow any), and the liveness
stage checks it against a fresh, independent draw Y, as a capture session draws one when it opens; live
selfies perform their own draw and are checked against it. A replay passes only if every passive cue
missed it and Y happens to be X: 1 in `capture.challenge.K` (96) per attempt.

The operating point is the Settings defaults (printed with the table). BPCER is also given without
`team_c`, whose source photo is a near-profile face (its rest pose is ~60 degrees of yaw): no
customer is filmed so, and its far eye hides behind the nose (the blink cue weights each eye by how
much of it is seen). The cost of the selfie analysis
is measured by `benchmarks/selfie_cost.py`. Prints a table; writes benchmarks/results/liveness.json
(liveness_opencv.json for that backend alone; `python -m benchmarks` runs both backends).

    PYTHONPATH=. python benchmarks/liveness.py [--seeds 3] [--backend insightface|opencv] [--jobs 2]
        [--attacks loop,loop_noise] [--first-seed 0] [--bona-fide 0] [--no-challenge]
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

# Attack classes (selfie generator variants) -> the reason that names the attack when it is refused.
ATTACKS: dict[str, str] = {
    "print": "face_print",
    "screen": "face_screen",
    "still": "suspicious_capture",
    "replay_phone": "face_screen",  # a live selfie replayed on a phone with a thin white bezel
    "replay_monitor": "face_screen",  # ... on a monitor filling the frame: no bezel, no visible moire
    "loop": "suspicious_capture",  # a 1 s clip with a turn and a blink, looped and re-encoded
    "loop_noise": "suspicious_capture",  # the same with fresh sensor noise
    "print_rocked": "face_print",  # a print rocked fast in 3D at arm's length
    "face_swap_middle": "face_swapped_during_capture",  # another face in the middle third
}
# Attack classes a capture challenge is measured on: replays of a recorded live selfie (a picture
# or a still cannot turn on cue at all; a face swap is the face stage's).
CHALLENGED = ("replay_phone", "replay_monitor", "loop", "loop_noise")
SIZE, FPS, SECONDS = (480, 360), 10, 4.0
NEAR_PROFILE = "team_c"


class Case(TypedDict):
    """One rendered video and what the liveness stage made of it."""

    person: str
    variant: str
    seed: int
    hard: bool
    challenge: str  # "": none (upload); "own": checked against the challenge it performs; "fresh": another draw
    drawn_alike: bool  # "fresh" only: the independent draw happened to be the challenge performed
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
    drawn_alike: int  # challenged replays whose fresh draw happened to be the challenge they perform


def _one(job: tuple[str, str, str, int, bool, str, bool]) -> Case:
    """Render one video, assess it (against a capture challenge when `challenged`); runs in a worker
    process (models load once per worker)."""
    folder, person, variant, seed, hard, backend, challenged = job
    from kycengine.capture import draw
    from kycengine.decision import decide
    from kycengine.face import FaceMatcher
    from kycengine.liveness import default_checker
    from kycengine.synth.faces import portrait
    from kycengine.synth.selfie_video import make_selfie_video
    from kycengine.video import decode

    performed = draw() if challenged else None
    checked = draw() if challenged and variant != "live" else performed
    kind = "" if checked is None else ("own" if variant == "live" else "fresh")
    path = Path(folder) / f"{variant}-{person}-{seed}-{'hard' if hard else 'clean'}-{kind}.mp4"
    make_selfie_video(path, person=person, variant=variant, seed=seed, size=SIZE, fps=FPS, seconds=SECONDS,
                      hard=hard, challenge=performed)
    checker = default_checker(backend)
    clip = decode(path, max_side=checker.settings.max_side, target_fps=checker.settings.selfie_fps)
    track = checker.tracker.track(clip.frames)
    evidence = checker.assess(clip, track, challenge=checked)
    face = FaceMatcher(checker.registry, checker.settings).match(clip, portrait(person, (120, 150)), track)
    path.unlink()
    path.with_suffix(".json").unlink()
    reasons = [r.value for r in decide(evidence, face).reasons]
    alike = kind == "fresh" and performed is not None and checked is not None and performed.key == checked.key
    return {"person": person, "variant": variant, "seed": seed, "hard": hard, "challenge": kind,
            "drawn_alike": alike, "live": evidence.live,
            "accepted": evidence.live is True and not reasons, "state": evidence.state.value, "reasons": reasons,
            "scores": {**evidence.scores, **face.scores}}


def _rate(rows: list[Case], wrong: Callable[[Case], bool]) -> Rate:
    errors = [r for r in rows if wrong(r)]
    return {"n": len(rows), "errors": len(errors), "rate": len(errors) / len(rows) if rows else None,
            "failed": [f"{r['variant']}-{r['person']}-{r['seed']}-{'hard' if r['hard'] else 'clean'}"
                       f"{' with challenge' if r['challenge'] else ''}: {','.join(r['reasons']) or 'live'}"
                       for r in errors]}


def _cell(rate: Rate | None) -> str:
    """'errors/n (rate)', or '-' where nothing was measured."""
    if rate is None or rate["rate"] is None:
        return "-"
    return f"{rate['errors']}/{rate['n']} ({100 * rate['rate']:.1f} %)"


def _table(rows: list[Case], attacks: tuple[str, ...], suffix: str) -> dict[str, Rate]:
    """APCER per attack kind and BPCER (all people, without NEAR_PROFILE) over `rows`, keys ending in
    `suffix`; an attack kind without rows is left out."""
    live = [r for r in rows if r["variant"] == "live"]
    table = {f"apcer_{kind}{suffix}": _rate([r for r in rows if r["variant"] == kind], lambda r: r["accepted"])
             for kind in attacks if any(r["variant"] == kind for r in rows)}
    table[f"bpcer{suffix}"] = _rate(live, lambda r: not r["accepted"])
    table[f"bpcer_frontal{suffix}"] = _rate([r for r in live if r["person"] != NEAR_PROFILE],
                                            lambda r: not r["accepted"])
    return table


def accuracy(seeds: int, backend: str, jobs: int, attacks: tuple[str, ...] = tuple(ATTACKS),
             first_seed: int = 0, bona_fide: int | None = None, challenge: bool = True) -> Accuracy:
    """APCER per attack kind (of `attacks`) and BPCER over rendered videos, seeds from `first_seed`;
    `bona_fide` seeds of live selfies (default 2 x `seeds`; 0: attacks only). The CHALLENGED attack
    kinds and the live selfies are also rendered and checked with a capture challenge (keys
    ending in `_challenge`) unless `challenge` is False."""
    from benchmarks.report import progress
    from kycengine.synth.faces import PEOPLE

    counts = (("live", 2 * seeds if bona_fide is None else bona_fide), *((a, seeds) for a in attacks))
    with tempfile.TemporaryDirectory() as folder:
        work = [(folder, person, variant, seed, hard, backend, challenged)
                for challenged in (False, True)[:1 + challenge] for person in PEOPLE for hard in (False, True)
                for variant, count in counts if not challenged or variant == "live" or variant in CHALLENGED
                for seed in range(first_seed, first_seed + count)]
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            rows = list(progress(pool.map(_one, work, chunksize=2), f"liveness {backend}", len(work)))
        elapsed = time.perf_counter() - started
    upload = [r for r in rows if not r["challenge"]]
    table = {**_table(upload, attacks, ""), **_table([r for r in rows if r["challenge"]], attacks, "_challenge")}
    named = {f"{kind}_{ATTACKS[kind]}": sum(ATTACKS[kind] in r["reasons"] for r in upload if r["variant"] == kind)
             for kind in attacks}  # attacks refused with their own reason (not only as 'not live')
    return {"table": table, "attack_named": named, "rows": rows, "seconds": round(elapsed, 1), "videos": len(rows),
            "drawn_alike": sum(r["drawn_alike"] for r in rows)}


def _settings_used(backend: str) -> dict[str, object]:
    from kycengine.settings import Settings

    settings = replace(Settings(), face_backend=backend).to_dict()
    return {k: v for k, v in settings.items() if k.startswith("liveness_") or k in ("selfie_fps", "max_side",
                                                                                     "face_backend")}


def run(seeds: int = 3, backends: tuple[str, ...] = ("insightface",), jobs: int = 2,
        attacks: tuple[str, ...] = tuple(ATTACKS), first_seed: int = 0, bona_fide: int | None = None,
        challenge: bool = True) -> Any:
    """The benchmark as a report Section (table: APCER per attack kind and BPCER, per backend, passive
    and with a capture challenge; notes: operating point, the challenge's odds)."""
    from benchmarks.report import Section
    from kycengine.capture.challenge import K

    rows, raw, notes = [], [], []
    last = first_seed + seeds - 1
    live_count = 2 * seeds if bona_fide is None else bona_fide
    live_seeds = f"seeds {first_seed}-{first_seed + live_count - 1}" if live_count else "no"
    for backend in backends:
        result = accuracy(seeds, backend, jobs, attacks, first_seed, bona_fide, challenge)
        table = result["table"]
        for key, label in (*((f"apcer_{a}", f"APCER {a}") for a in attacks), ("bpcer", "BPCER (all people)"),
                           ("bpcer_frontal", f"BPCER (without {NEAR_PROFILE})")):
            upload, asked = table[key], table.get(f"{key}_challenge")
            rows.append({"backend": backend, "metric": label, "passive (upload)": _cell(upload),
                         "with capture challenge": _cell(asked),
                         "failed": "; ".join(upload["failed"] + (asked["failed"] if asked else [])) or "-"})
        notes += [f"backend {backend}; {result['videos']} videos ({SIZE[0]}x{SIZE[1]}, {FPS} fps, {SECONDS:.0f} s): "
                  f"7 people x clean/hard x seeds {first_seed}-{last} per attack, {live_seeds} "
                  f"bona fide; {result['seconds']} s with {jobs} processes",
                  f"operating point ({backend}): Settings() defaults " + json.dumps(_settings_used(backend)),
                  f"attacks refused with their own reason ({backend}): {json.dumps(result['attack_named'])}"]
        if challenge:
            notes.append(f"with capture challenge ({backend}): {', '.join(c for c in CHALLENGED if c in attacks)} "
                         f"perform a drawn challenge and are checked against a fresh draw, live selfies against "
                         f"their own (these videos last their challenge, 9-15 s); a replay that every passive cue "
                         f"misses passes a fresh draw by chance 1 time in {K}: "
                         f"{result['drawn_alike']} of this run's challenged replays drew their own")
        raw += [{**r, "backend": backend} for r in result["rows"]]
    key = "liveness" if "insightface" in backends else f"liveness_{'_'.join(backends)}"
    return Section(key, f"Liveness: presentation-attack detection ({', '.join(backends)})", rows, raw,
                   tuple(notes))


def section(seeds: int = 1) -> Any:
    """For `python -m benchmarks`: both face backends."""
    return run(seeds=max(1, seeds), backends=("insightface", "opencv"))


def main() -> None:
    from benchmarks.report import markdown, save

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per person and capture (x2 for bona fide)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (thresholds were set on 100-102)")
    parser.add_argument("--backend", default="insightface", choices=("insightface", "opencv", "both"))
    parser.add_argument("--attacks", default=",".join(ATTACKS), help="attack classes, comma-separated")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--bona-fide", type=int, default=None,
                        help="seeds of live selfies (default 2 x --seeds; 0: attack classes only)")
    parser.add_argument("--no-challenge", action="store_true", help="passive (upload) measurement only")
    args = parser.parse_args()
    attacks = tuple(a for a in args.attacks.split(",") if a)
    unknown = [a for a in attacks if a not in ATTACKS]
    if unknown:
        parser.error(f"unknown attack classes {unknown}; choose from {', '.join(ATTACKS)}")
    backends = ("insightface", "opencv") if args.backend == "both" else (args.backend,)
    result = run(args.seeds, backends, args.jobs, attacks, args.first_seed, args.bona_fide, not args.no_challenge)
    print(markdown(result))
    print(f"saved {save(result)}")


if __name__ == "__main__":
    main()
