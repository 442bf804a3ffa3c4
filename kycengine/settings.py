"""Every tunable threshold in one frozen object, each with its meaning and where its value comes from."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .records import Record


@dataclass(frozen=True)
class Settings(Record):
    """Engine settings; `Settings()` is the production default, `strict()` the manual-review re-run."""

    # Video decoding. 1280 px keeps a 105 mm card at >= 8 px/mm when it fills 70 % of a 720p frame,
    # enough for OCR-B at 2.54 mm pitch; larger frames (4K) are downscaled on decode.
    max_side: int = 1280
    # Frames per second kept from the selfie video: blinks last 100-400 ms (Schiffman, Sensation and
    # Perception), so 10 fps sees every blink on at least one frame.
    selfie_fps: float = 10.0
    # Frames per second kept from the document video for scoring; the best ones are analysed.
    document_fps: float = 10.0
    # How many of the best document frames are read before voting stops early.
    document_max_frames: int = 8
    # Face backend: "insightface" (SCRFD + ArcFace, non-commercial weights) or "opencv"
    # (YuNet + SFace, commercially usable weights).
    face_backend: str = "insightface"

    def strict(self) -> Settings:
        """Slower, more thorough variant for batch re-verification of manual-review cases."""
        return replace(self, document_fps=30.0, document_max_frames=24, selfie_fps=30.0)
