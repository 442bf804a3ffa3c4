"""Cost of a live capture session per streamed frame, against decoding that frame, on one core.

A genuine document video and a live selfie performing a challenge, from the project's generator at
5 fps (the rate a capture page sends), are decoded frame by frame (`video.iter_frames`: what a
server does with an uploaded frame at the least) and fed to a `DocumentSession` and a
`SelfieSession` until each closes. Per frame: the session's CPU time against the decode's, the
mean (the selfie's includes the liveness stage it runs when it closes) and the slowest frame. One
worker process on one core then sustains 1 / (5 x mean CPU seconds per frame) sessions at 5 frames
per second. Measured in a fresh process pinned to one core, one onnxruntime thread, after a warm-up.

    PYTHONPATH=. python -m benchmarks.capture [--size 480x360]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

FPS = 5.0  # frames a second a capture page sends
SIZE = (480, 360)
WARM_UP_FRAMES = 3


def _frames(path: Path) -> tuple[list[Any], float]:
    """The decoded frames of `path` and the CPU seconds the decode took."""
    from kycengine.video import iter_frames

    cpu = time.process_time()
    frames = list(iter_frames(path))
    return frames, time.process_time() - cpu


def _stream(make: Callable[[], Any], frames: Iterable[Any]) -> dict[str, Any]:
    """CPU seconds of each frame fed to a fresh session until it closes, and how it closed."""
    session = make()
    costs, answer = [], None
    for frame in frames:
        cpu = time.process_time()
        answer = session.feed(frame.image, frame.t)
        costs.append(time.process_time() - cpu)
        if answer.closed:
            break
    return {"costs": costs, "closed": answer.code.value if answer is not None else "", "fed": len(costs)}


def measure(document: Path, selfie: Path, challenge: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per session kind; run it in a fresh process (`_isolated`): it pins itself to one core."""
    import os

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from kycengine.capture import Challenge, DocumentSession, SelfieSession
    from kycengine.models import Registry
    from kycengine.pipeline import Verifier
    from kycengine.synth.identity import DEFAULT_TODAY

    verifier = Verifier(registry=Registry.load(threads=1))
    asked = Challenge.from_dict(challenge)
    kinds: dict[str, tuple[Path, Callable[[], Any]]] = {
        "document": (document, lambda: DocumentSession(verifier.document, today=DEFAULT_TODAY)),
        "selfie": (selfie, lambda: SelfieSession(verifier.liveness, challenge=asked))}
    rows = []
    for kind, (path, make) in kinds.items():
        frames, decode_cpu = _frames(path)
        _stream(make, frames[:WARM_UP_FRAMES])  # loads what the first frames load
        streamed = _stream(make, frames)
        costs = streamed["costs"]
        decode = decode_cpu / len(frames)
        mean = sum(costs) / len(costs)
        rows.append({"session": kind, "frames fed": streamed["fed"], "closed": streamed["closed"],
                     "decode ms/frame": round(1000 * decode, 1), "session ms/frame": round(1000 * mean, 1),
                     "session / decode": round(mean / decode, 1), "slowest frame ms": round(1000 * max(costs)),
                     "sessions at 5 fps per core": round(1 / (FPS * mean), 1)})
    return rows


def _isolated(document: Path, selfie: Path, challenge: dict[str, Any]) -> list[dict[str, Any]]:
    """`measure` in a freshly spawned process (no thread pool of this one comes along)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(measure, document, selfie, challenge).result()


def run(size: tuple[int, int] = SIZE) -> Any:
    """The benchmark as a report Section: one row per session kind."""
    from benchmarks.report import Section
    from kycengine.capture.challenge import every_challenge
    from kycengine.synth import DocumentType, make_document_video, make_selfie_video

    challenge = every_challenge()[0]
    with tempfile.TemporaryDirectory() as folder:
        document, selfie = Path(folder) / "document.mp4", Path(folder) / "selfie.mp4"
        make_document_video(document, document_type=DocumentType.FR_CNI_2021, seed=5, size=size, fps=FPS,
                            seconds=6.0, person="astronaut")
        make_selfie_video(selfie, person="astronaut", variant="live", seed=5, size=size, fps=FPS,
                          challenge=challenge)
        rows = _isolated(document, selfie, challenge.to_dict())
    notes = (f"{size[0]}x{size[1]} at {FPS:.0f} fps, generator seed 5; one core, one onnxruntime thread, CPU time; "
             "decode: PyAV's H.264 decode of the same frame; the selfie's mean includes the liveness stage "
             "it runs once when it closes (its slowest frame)",
             "sessions at 5 fps per core: 1 / (5 x mean session CPU seconds per frame), frames spread evenly")
    return Section("capture", "Live capture sessions: cost per streamed frame", rows, rows, notes)


def main() -> None:
    from benchmarks.report import markdown, save

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default=f"{SIZE[0]}x{SIZE[1]}", help="frame size, WIDTHxHEIGHT")
    width, height = (int(v) for v in parser.parse_args().size.split("x"))
    result = run((width, height))
    print(markdown(result))
    print(f"saved {save(result)}")


if __name__ == "__main__":
    main()
