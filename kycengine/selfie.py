"""Stream the selfie once: decode it, follow the face and make what the face and liveness stages read,
frame by frame, keeping only a bounded number of full-resolution images.

Every frame leaves its grey thumbnails (duplicate and loop cues) and its grey face crop (parallax and
blink, `liveness.frames.CropPlan`) behind. Its full-resolution image is kept only while some stage
may want it, decided as the track settles each frame:
- the frames the appearance cues will sample and their neighbours (`liveness.frames.sample_positions`,
  predicted from the stream's packet count as if every frame showed a face, as a live selfie does);
- the SHARPNESS_POOL most frontal sightings so far (the face stage scores and embeds some of them);
- the most frontal sighting so far of each identity-consistency stretch (trusted, and any);
- the most turned sightings so far each way (the turn's extremes: the reviewer's evidence images).
That is at most MAX_KEPT images whatever the selfie's length. A stage that asks for another frame
(the face was missing where the prediction put a sample) gets it decoded again, in one pass
(`video.DecodedFrames.prefetch`): slower, never wrong.
"""

from __future__ import annotations

import heapq
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InvalidMedia
from .face.landmarks import plane_yaw
from .face.matcher import CONSISTENCY_SEGMENTS, SHARPNESS_POOL, frontality
from .face.track import FaceTrack, FaceTracker, Sighting
from .liveness.capture import THUMB
from .liveness.frames import NEIGHBOURS, SAMPLE_FRAMES, CropPlan, SelfieFrames, around, grey, spread, thumbnail
from .liveness.loop import SIGNATURE
from .video import Frame, Video, described, iter_frames, planned_count

# Full-resolution images held at most: the samples and their neighbours, the frontal pool, the
# stretches' picks, the turn's extremes (besides the few frames the track has not settled yet).
MAX_KEPT = (2 * NEIGHBOURS + 1) * SAMPLE_FRAMES + SHARPNESS_POOL + 2 * CONSISTENCY_SEGMENTS + 2


@dataclass(frozen=True, eq=False)
class StreamedSelfie:
    """The streamed selfie, its face track (None: tracking crashed and the frames were decoded again in
    full, each stage then tracks for itself) and the seconds (wall) spent tracking while it decoded."""

    video: Video
    track: FaceTrack | None
    tracking_s: float


class _Keeper:
    """The full-resolution images some stage may still want (see the module), as frames settle."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        # `sample_positions` on a track with a face in every frame
        self.samples = around(spread(expected, SAMPLE_FRAMES), expected)
        self.frontal: list[tuple[float, int]] = []  # heap of (frontality, -position): the least frontal on top
        self.best: dict[tuple[object, ...], tuple[float, int]] = {}  # what -> (score, position) of the first best
        self.images: dict[int, np.ndarray] = {}

    def offer(self, position: int, sighting: Sighting | None, image: np.ndarray) -> None:
        """One settled frame: keep its image if wanted, let go of those no longer wanted."""
        self.images[position] = image
        if sighting is not None:
            pose = frontality(sighting.landmarks5)
            heapq.heappush(self.frontal, (pose, -position))
            if len(self.frontal) > SHARPNESS_POOL:
                self._release(-heapq.heappop(self.frontal)[1])
            stretch = position * CONSISTENCY_SEGMENTS // max(1, self.expected)
            self._better(("stretch", False, stretch), pose, position)  # as `consistency_picks`
            if sighting.trusted:
                self._better(("stretch", True, stretch), pose, position)
                yaw = plane_yaw(sighting.landmarks5)  # the turn's extremes, as `head_turn` (evidence images)
                if np.isfinite(yaw):
                    self._better(("turn", "left"), -yaw, position)
                    self._better(("turn", "right"), yaw, position)
        self._release(position)

    def _better(self, what: tuple[object, ...], score: float, position: int) -> None:
        """Keep `position` as the best for `what` when its score is higher than the best so far's."""
        best = self.best.get(what)
        if best is None or score > best[0]:
            self.best[what] = (score, position)
            if best is not None:
                self._release(best[1])

    def _release(self, position: int) -> None:
        wanted = (position in self.samples or any(-p == position for _, p in self.frontal)
                  or any(p == position for _, p in self.best.values()))
        if not wanted:
            self.images.pop(position, None)


class _Rows:
    """Same-shaped per-frame copies (thumbnails, crops) written into one block, grown by doubling: a
    few large allocations, returned whole, instead of one small one per frame left scattered among
    the allocator's other blocks (which keeps a worker's memory from shrinking back)."""

    def __init__(self, expected: int) -> None:
        self.expected, self.count = max(1, expected), 0
        self.block: np.ndarray | None = None

    def append(self, row: np.ndarray) -> None:
        if self.block is None:
            self.block = np.empty((self.expected, *row.shape), row.dtype)
        elif self.count == len(self.block):
            self.block = np.concatenate([self.block, np.empty_like(self.block)])
        self.block[self.count] = row
        self.count += 1

    def rows(self) -> np.ndarray:
        """The rows written, stacked (a view of the block)."""
        assert self.block is not None, "no row was written"
        return self.block[:self.count]


def stream_selfie(path: str | os.PathLike[str], tracker: FaceTracker, *, max_side: int | None,
                  target_fps: float | None) -> StreamedSelfie:
    """Decode, track and prepare the selfie in one pass (see the module); raises InvalidMedia for
    anything that is not a readable video within the limits."""
    path = Path(path)
    expected = planned_count(path, target_fps)
    keeper = _Keeper(expected)
    tracking = tracker.start()
    pending: dict[int, Frame] = {}  # decoded, not settled yet
    uncut: list[np.ndarray] = []  # grey frames decoded before the first one settled (and set the crop plan)
    indices: list[int] = []
    times: list[float] = []
    thumbs = {THUMB: _Rows(expected), SIGNATURE: _Rows(expected)}
    crops = _Rows(expected)
    plans: list[CropPlan] = []
    tracking_s = 0.0

    def settle(done: list[tuple[int, Sighting | None]]) -> None:
        for position, sighting in done:
            frame = pending.pop(position)
            if not plans:  # the first frame settles first: its face sets where every crop is cut
                plans.append(CropPlan.starting_at(sighting, *frame.image.shape[:2]))
                for grey_image in uncut:
                    crops.append(plans[0].cut(grey_image))
                uncut.clear()
            keeper.offer(position, sighting, frame.image)

    for position, frame in enumerate(iter_frames(path, max_side=max_side, target_fps=target_fps)):
        grey_image = grey(frame.image)
        indices.append(frame.index)
        times.append(frame.t)
        for size, made in thumbs.items():
            made.append(thumbnail(grey_image, size))
        if plans:
            crops.append(plans[0].cut(grey_image))
        else:
            uncut.append(grey_image)
        pending[position] = frame
        started = time.perf_counter()
        done = tracking.push(frame)
        tracking_s += time.perf_counter() - started
        settle(done)
    if not indices:
        raise InvalidMedia(f"{path}: the video has no decodable frame")
    started = time.perf_counter()
    done, track = tracking.finish()
    tracking_s += time.perf_counter() - started
    settle(done)
    frames = SelfieFrames((path, max_side, target_fps), indices, times, keeper.images,
                          {size: made.rows() for size, made in thumbs.items()}, plans[0].crops(crops.rows()))
    return StreamedSelfie(described(path, frames), track, tracking_s)
