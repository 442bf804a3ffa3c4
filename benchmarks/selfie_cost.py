"""Cost of the selfie analysis on one core, against the decode time of the same video.

A 5 s 1280x720 30 fps selfie from the project's generator is decoded alone (every frame decoded,
selfie_fps kept: the yardstick), then streamed as the pipeline does (`kycengine.selfie`: decoded,
face tracked and prepared in one pass) and analysed: the face stage (embeddings against a document
portrait) and the liveness stage. The analysis is the stream less the decode, plus both stages; the
face track's share of the stream is given too (wall seconds, inside it). For comparison, in the same
rounds, each stage also runs on the selfie decoded in full, tracking the face itself (the cost before
the track was shared). Each backend is measured in a fresh process pinned to one core before anything is loaded
(so that every thread OpenCV, PyAV or onnxruntime starts stays on it), with one onnxruntime thread
per session; the median of ROUNDS rounds after a warm-up is reported, in CPU seconds (what the
analysis costs whatever else runs on the machine) and in wall seconds. Target: analysis < 2 x decode.

    PYTHONPATH=. python -m benchmarks.selfie_cost [--rounds 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict


class VideoSpec(TypedDict):
    """`make_selfie_video`'s arguments for the measured selfie."""

    person: str
    variant: str
    seed: int
    size: tuple[int, int]
    fps: float
    seconds: float


ROUNDS = 5
BACKENDS = ("insightface", "opencv")
VIDEO: VideoSpec = {"person": "astronaut", "variant": "live", "seed": 11, "size": (1280, 720), "fps": 30,
                    "seconds": 5.0}
PORTRAIT_SIZE = (120, 150)  # about the portrait the document stage crops from a 720p card video


def _clock(run: Callable[[], Any]) -> tuple[float, float, Any]:
    """(CPU seconds, wall seconds, result) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = run()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def measure(backend: str, path: Path, rounds: int = ROUNDS) -> dict[str, Any]:
    """Median CPU and wall seconds of each step for one backend, and the ratios to decode; run it in a
    fresh process (see `_isolated`): it pins the whole process to one core."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from kycengine.decision import decide
    from kycengine.face import FaceMatcher
    from kycengine.liveness import LivenessChecker
    from kycengine.models import Registry
    from kycengine.selfie import stream_selfie
    from kycengine.settings import Settings
    from kycengine.synth.faces import portrait
    from kycengine.video import decode

    settings = replace(Settings(), face_backend=backend)
    registry = Registry.load(threads=1)
    matcher, checker = FaceMatcher(registry, settings), LivenessChecker(registry, settings)
    document_portrait = portrait(VIDEO["person"], PORTRAIT_SIZE)
    steps: dict[str, list[tuple[float, float]]] = {}
    outcome: dict[str, Any] = {}
    for round_ in range(rounds + 1):
        timed: dict[str, tuple[float, float]] = {}
        cpu, wall, clip = _clock(lambda: decode(path, max_side=settings.max_side, target_fps=settings.selfie_fps))
        timed["decode"] = cpu, wall
        cpu, wall, streamed = _clock(lambda: stream_selfie(path, matcher.tracker, max_side=settings.max_side,
                                                           target_fps=settings.selfie_fps))
        timed["stream"] = cpu, wall
        timed["track"] = streamed.tracking_s, streamed.tracking_s
        selfie, track = streamed.video, streamed.track
        cpu, wall, face = _clock(lambda: matcher.match(selfie, document_portrait, track))
        timed["face"] = cpu, wall
        cpu, wall, live = _clock(lambda: checker.assess(selfie, track))
        timed["liveness"] = cpu, wall
        cpu, wall, _ = _clock(lambda: (matcher.match(clip, document_portrait), checker.assess(clip)))
        timed["separate"] = cpu, wall
        if round_:  # the first round warms caches and onnxruntime's allocators
            for name, value in timed.items():
                steps.setdefault(name, []).append(value)
        outcome = {"frames": len(clip.frames), "kept": selfie.frames.kept, "detector_runs": track.detector_runs,
                   "landmark_runs": track.landmark_runs, "similarity": face.similarity, "decision": str(face.decision),
                   "live": live.live, "reasons": [r.value for r in decide(face, live).reasons]}
    median = {name: (statistics.median(c for c, _ in values), statistics.median(w for _, w in values))
              for name, values in steps.items()}
    decode_cpu, decode_wall = median["decode"]
    shared = [median["stream"][i] - median["decode"][i] + median["face"][i] + median["liveness"][i] for i in (0, 1)]
    return {"backend": backend, **{f"{n}_cpu_s": round(c, 3) for n, (c, _) in median.items()},
            "analysis_cpu_s": round(shared[0], 3), "ratio_cpu": round(shared[0] / decode_cpu, 2),
            "ratio_wall": round(shared[1] / decode_wall, 2),
            "separate_ratio_cpu": round(median["separate"][0] / decode_cpu, 2), **outcome}


def _isolated(backend: str, path: Path, rounds: int) -> dict[str, Any]:
    """`measure` in a freshly spawned process (no thread pool of this one comes along)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(measure, backend, path, rounds).result()


def run(rounds: int = ROUNDS) -> Any:
    """The benchmark as a report Section: one row per backend."""
    from benchmarks.report import Section
    from kycengine.synth.selfie_video import make_selfie_video

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "selfie-720p.mp4"
        make_selfie_video(path, **VIDEO)
        rows = [_isolated(backend, path, rounds) for backend in BACKENDS]
    table = [{"backend": r["backend"], "decode s": r["decode_cpu_s"], "stream s": r["stream_cpu_s"],
              "face track s (wall)": r["track_cpu_s"],
              "face s": r["face_cpu_s"], "liveness s": r["liveness_cpu_s"],
              "analysis / decode": r["ratio_cpu"], "(wall)": r["ratio_wall"],
              "stages tracking separately": r["separate_ratio_cpu"]} for r in rows]
    notes = (f"{VIDEO['size'][0]}x{VIDEO['size'][1]}, {VIDEO['fps']} fps, {VIDEO['seconds']:.0f} s selfie "
             f"({rows[0]['frames']} frames at selfie_fps, {rows[0]['kept']} held in full); one core, one onnxruntime "
             f"thread; CPU seconds, median of {rounds} rounds; target: analysis (stream - decode + face + "
             "liveness) < 2 x decode",
             "model runs of the face track per selfie: " + "; ".join(
                 f"{r['backend']} {r['detector_runs']} detector, {r['landmark_runs']} landmark" for r in rows),
             "'stages tracking separately': the face and liveness stages each finding the face themselves, "
             "as when called one by one (kyc liveness, FaceMatcher.match without a track)")
    return Section("selfie_cost", "Selfie analysis cost on one core", table, rows, notes)


def main() -> None:
    from benchmarks.report import markdown, save

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    result = run(parser.parse_args().rounds)
    print(markdown(result))
    print(f"saved {save(result)}")


if __name__ == "__main__":
    main()
