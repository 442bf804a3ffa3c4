"""Face stage entry point: selfie frames and document portrait in, FaceEvidence out.

The selfie's face track (`track.FaceTracker`: computed once and shared with the liveness stage)
gives the subject's box and five landmarks per frame. The sharpest, most frontal sightings are
embedded and compared with the document portrait's embedding; the similarity is the median of the
best TOP_K frame scores, so one lucky or unlucky frame does not decide. One sighting from each of
CONSISTENCY_SEGMENTS stretches spread over the whole video, the one closest to the video's reference
pose (frontal, or the rest pose of a face filmed near profile), is embedded, and each is compared
with the others, to catch a face swapped in anywhere during the capture (not only between its
ends). A missing embedding is a FAILED stage, never a similarity of 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np

from ..errors import InvalidInput
from ..findings import Finding, FindingCode
from ..models import Registry
from ..schema import FaceEvidence, MatchDecision, StageState
from ..settings import Settings
from ..video import DecodedFrames, Video
from .backends import l2_normalise
from .compare import largest_face, require_bgr
from .landmarks import yaw_index
from .thresholds import threshold_for
from .track import FaceTrack, FaceTracker, Sighting

T = TypeVar("T")

# A face in fewer than this fraction of the selfie's frames: no usable face (NO_FACE_DETECTED).
FACE_PRESENCE_MIN = 0.1
# Two similar-sized faces (track.SECOND_FACE_AREA) in at least this fraction of the detector runs
# that found the subject: MULTIPLE_FACES.
MULTIPLE_FACES_MIN = 0.3
# Landmark symmetry at or above which a face is frontal enough for identity: 1 - (nose offset from
# the eyes' midpoint / half the eye span). With SCRFD landmarks on rendered head turns it reads
# ~0.95 at 0, 0.75 at 20, 0.55 at 30 and 0.3-0.45 at 40 degrees of yaw; 0.65 is about 25 degrees.
# The 106-point model's five points read ~0.07 lower on the same frames (its nose tip sits lower),
# so fewer frames pass and the most frontal ones are taken instead (see `match`). YuNet's
# landmarks follow yaw less closely, so the opencv backend is more permissive here.
FRONTAL_MIN = 0.65
# Frontal, sharp sightings embedded against the portrait, and how many of their best scores the
# median is taken over (robust to one outlier either way). Each embedding costs ~12 ms on one core.
BEST_FRAMES = 4
TOP_K = 3
# Only the most frontal sightings, this many, are scored for sharpness (a crop resize and a
# Laplacian each): beyond them frontality falls faster than sharpness can make up for.
SHARPNESS_POOL = 12
# Sightings for the identity-consistency check: the one closest to the reference pose in each of
# this many equal stretches of the video (so a face swapped in for a sixth of it or more has a
# stretch of its own), each compared with all the others; the stretch whose median similarity to
# the others is lowest decides. A swap of up to half the video is outvoted in its stretches by the
# rest; comparing only frontal faces of the first and last thirds missed a face shown in the middle
# third, while the head is turned (no frontality floor: a swapped-in face is never made to look at
# the camera, and a floor would leave out the holder's own picks when the holder rests near
# profile, so that a swapped-in face more frontal than them outvoted them). Each pick is an
# embedding (~12 ms; fewer when one is also among the BEST_FRAMES).
CONSISTENCY_SEGMENTS = 6
# The reference pose of those picks is frontal (yaw index 0: each stretch's most frontal sighting),
# unless the video's rest pose (its median yaw index) is this far or farther from it: a face filmed
# near profile (the nose close to the line of an eye), whose most frontal sightings are caught
# mid-turn, at poses far apart that embed far apart. Then each stretch's pick is its sighting
# closest to the rest pose, so that like poses are compared. Seeds 100-101 (7 people x clean/hard,
# 480x360, 10 fps, 4 s) and held-out 0-1: rest poses of the faces facing the camera -0.26-0.07
# (106-point landmarks), -0.57-0.13 (YuNet); of the near-profile person (team_c) 1.21-1.45 and
# 0.92-1.04. Its identity consistency, seeds 100-101, insightface: 0.19-0.68 with frontal picks (one
# video below Settings.face_consistency_min), 0.30-0.76 at its rest pose; opencv 0.61-0.74, 0.71-0.80;
# held out, insightface 0.20-0.58 (one below), 0.46-0.80; opencv 0.46-0.66, 0.54-0.79.
PROFILE_YAW = 0.75
# The document portrait is small and printed: enlarge it so its short side has at least this many
# pixels, and also embed a lightly sharpened copy (unsharp mask) that undoes print/scan softness.
PORTRAIT_MIN_SIDE = 224
SHARPEN_SIGMA = 1.0
SHARPEN_AMOUNT = 0.6
SHARPNESS_SIDE = 112  # face crops are scored for sharpness at this size, whatever their resolution


@dataclass(frozen=True, eq=False)
class Candidate:
    """A tracked sighting considered for embedding, and how usable it is."""

    sighting: Sighting
    frontality: float  # 1 frontal ... 0 profile
    sharpness: float  # variance of the Laplacian of the face crop at SHARPNESS_SIDE px


def frontality(landmarks5: np.ndarray) -> float:
    """1 for a frontal face, falling towards 0 as the head turns: how centred the nose is between the
    eyes (1 - |yaw index|; 0 for degenerate landmarks)."""
    yaw = yaw_index(landmarks5)
    return 0.0 if np.isnan(yaw) else max(0.0, 1.0 - abs(yaw))


def face_sharpness(image: np.ndarray, box: np.ndarray) -> float:
    """Variance of the Laplacian of the grey crop of `box` resized to SHARPNESS_SIDE (size-independent)."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    crop = image[max(0, y1):min(height, y2), max(0, x1):min(width, x2)]
    if crop.size == 0:
        return 0.0
    grey = cv2.cvtColor(cv2.resize(crop, (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=cv2.INTER_AREA),
                        cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def decision_finding(decision: MatchDecision, similarity: float, threshold: float) -> Finding:
    """The finding of a comparison that is not a match: a mismatch, or the uncertain band."""
    code = FindingCode.FACE_MISMATCH if decision is MatchDecision.NO_MATCH else FindingCode.FACE_UNCERTAIN
    return Finding(code, f"similarity {similarity:.3f} against threshold {threshold:.2f}", round(similarity, 4),
                   threshold)


def evenly(items: Sequence[T], count: int) -> list[T]:
    """Up to `count` items evenly spaced over the sequence (first and last included), in order."""
    if len(items) <= count:
        return list(items)
    return [items[i] for i in np.unique(np.linspace(0, len(items) - 1, count).round().astype(int))]


def consistency_picks(sightings: Sequence[Sighting], count: int, yaw: dict[int, float]) -> list[Sighting]:
    """The sighting closest to the reference pose (`yaw`: yaw index by position; see PROFILE_YAW) in each
    of CONSISTENCY_SEGMENTS equal stretches of a `count`-frame video (stretches without one are left
    out), in order."""
    known = [yaw[s.position] for s in sightings if np.isfinite(yaw[s.position])]
    rest = float(np.median(known)) if known else 0.0
    reference = rest if abs(rest) >= PROFILE_YAW else 0.0

    def distance(sighting: Sighting) -> float:
        offset = abs(yaw[sighting.position] - reference)
        return offset if np.isfinite(offset) else np.inf

    picks: dict[int, Sighting] = {}
    for sighting in sightings:
        stretch = sighting.position * CONSISTENCY_SEGMENTS // max(1, count)
        if stretch not in picks or distance(sighting) < distance(picks[stretch]):
            picks[stretch] = sighting
    return [picks[k] for k in sorted(picks)]


@dataclass(frozen=True)
class Consistency:
    """The least consistent stretch: its median similarity to the other stretches' faces, and where."""

    similarity: float
    position: int  # the stretch's pick (position in the video)


def identity_consistency(picks: Sequence[Sighting], embeddings: dict[int, np.ndarray]) -> Consistency | None:
    """For each pick, the median similarity of its embedding with the other picks'; the lowest (None
    with fewer than 3 picks: one odd face out of two cannot be told from the other)."""
    if len(picks) < 3:
        return None
    matrix = np.stack([embeddings[s.position] for s in picks])
    similarity = matrix @ matrix.T
    medians = [float(np.median(np.delete(row, i))) for i, row in enumerate(similarity)]
    worst = int(np.argmin(medians))
    return Consistency(medians[worst], picks[worst].position)


class FaceMatcher:
    """Detects, aligns and embeds faces with the configured backend; its models load once, here."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings
        self.tracker = FaceTracker(registry, settings.face_backend)
        self.backend = self.tracker.backend
        self.threshold = threshold_for(self.backend.name)

    @property
    def model_ids(self) -> tuple[str, ...]:
        """Manifest ids of the models this matcher uses (the tracker's and the embedder's)."""
        return self.tracker.model_ids

    def _portrait_template(self, portrait: np.ndarray) -> np.ndarray:
        """Unit mean of the embeddings of the enlarged portrait and of a sharpened copy of it."""
        require_bgr(portrait, "document portrait")
        scale = PORTRAIT_MIN_SIDE / min(portrait.shape[:2])
        base = (cv2.resize(portrait, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
                if scale > 1 else portrait)
        face = largest_face(self.backend, base, "document portrait")
        sharpened = cv2.addWeighted(base, 1 + SHARPEN_AMOUNT, cv2.GaussianBlur(base, (0, 0), SHARPEN_SIGMA),
                                    -SHARPEN_AMOUNT, 0)
        # Averaging the two embeddings, rather than keeping the better score, leaves impostor
        # scores unbiased by the extra try.
        return l2_normalise(self.backend.embed(base, face) + self.backend.embed(sharpened, face))

    def match(self, selfie: Video, portrait: np.ndarray | None, track: FaceTrack | None = None) -> FaceEvidence:
        """Compare the selfie's face with the document portrait; `track` is the selfie's face track
        when the caller already has it (the pipeline shares one with the liveness stage)."""
        frames = selfie.frames
        track = track if track is not None else self.tracker.track(frames)
        found = track.found
        presence = len(found) / max(1, len(frames))
        scores = {"face_frames": round(presence, 3)}
        if not found or presence < FACE_PRESENCE_MIN:
            seen = f"a face in {len(found)} of {len(frames)} selfie frames"
            return self._failed([Finding(FindingCode.NO_FACE, seen, round(presence, 3), FACE_PRESENCE_MIN)],
                                scores, seen)

        findings: list[Finding] = []
        detected = track.detected
        crowded = sum(s.crowded for s in detected) / max(1, len(detected))
        scores["face_multiple"] = round(crowded, 3)
        if crowded >= MULTIPLE_FACES_MIN:
            findings.append(Finding(FindingCode.MULTIPLE_FACES, "two similar-sized faces in the detector runs",
                                    round(crowded, 3), MULTIPLE_FACES_MIN))

        pose = {s.position: frontality(s.landmarks5) for s in found}
        by_pose = sorted(found, key=lambda s: pose[s.position], reverse=True)
        frontal = ([s for s in by_pose if pose[s.position] >= FRONTAL_MIN] or by_pose)[:SHARPNESS_POOL]
        candidates = [Candidate(s, pose[s.position], face_sharpness(frames[s.position].image, s.box))
                      for s in frontal]
        best = sorted(candidates, key=lambda c: c.frontality * c.sharpness, reverse=True)[:BEST_FRAMES]
        picks = consistency_picks(track.trusted or found, len(frames),
                                  {s.position: yaw_index(s.landmarks5) for s in found})
        embedded = [c.sighting for c in best] + picks
        # A streamed selfie kept each stretch's most frontal sighting: the picks of a face resting near
        # profile lie elsewhere, decoded again in one pass.
        if isinstance(frames, DecodedFrames):
            frames.prefetch(s.position for s in embedded)
        embeddings = {s.position: self.backend.embed(frames[s.position].image, s.as_face()) for s in embedded}

        consistency = identity_consistency(picks, embeddings)
        if consistency is not None:
            scores["identity_consistency"] = round(consistency.similarity, 4)
            if consistency.similarity < self.settings.face_consistency_min:
                findings.append(Finding(FindingCode.FACE_SWAPPED, f"the face around frame "
                                        f"{frames[consistency.position].index} differs from the rest of the video",
                                        round(consistency.similarity, 4), self.settings.face_consistency_min))

        if portrait is None:
            return self._failed([*findings, Finding(FindingCode.NO_PORTRAIT, "no document portrait")], scores,
                                "no document portrait")
        try:
            template = self._portrait_template(portrait)
        except InvalidInput as exc:
            return self._failed([*findings, Finding(FindingCode.NO_PORTRAIT, exc.message)], scores, exc.message)

        ranked = sorted(((float(embeddings[c.sighting.position] @ template), c.sighting.position) for c in best),
                        reverse=True)[:TOP_K]
        similarity = float(np.median([score for score, _ in ranked]))
        decision = self.threshold.decide(similarity)
        if decision is not MatchDecision.MATCH:
            findings.append(decision_finding(decision, similarity, self.threshold.cosine))
        used = sorted(position for _, position in ranked)
        scores["face_similarity"] = round(similarity, 4)
        return FaceEvidence(state=StageState.COMPLETE, findings=tuple(findings), backend=self.backend.name,
                            similarity=similarity, decision=decision, threshold=self.threshold.cosine,
                            frames_used=tuple(frames[p].index for p in used), scores=scores,
                            embeddings=np.stack([embeddings[p] for p in used]))

    def _failed(self, findings: list[Finding], scores: dict[str, float], note: str) -> FaceEvidence:
        """Evidence for a comparison that could not be made: no similarity, no decision."""
        return FaceEvidence(state=StageState.FAILED, findings=tuple(findings), backend=self.backend.name,
                            threshold=self.threshold.cosine, scores=scores, note=note)
