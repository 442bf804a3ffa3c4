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
    # ---- document stage (kycengine.document). Ranges measured with the capture generator: 3 document
    # types x 10 variants x clean/hard filming, seeds 1-6 at 640x360 and 1-4 at 1280x720, 10 fps ----
    # Frames of the document video searched for the document (spread evenly); the sharpest and
    # stillest of them are read. 24 keeps the cheap pass near 0.25-0.45 s on one core.
    document_scan_frames: int = 24
    # A document found (whole, or running off the frame) in fewer than this share of the scanned
    # frames, with no MRZ read anywhere: document_not_found. Clips with a document 0.4-1.0.
    document_found_min: float = 0.2
    # Share of the frames with a document in which it runs off the frame, at or above which the
    # capture is cut off. cut_off variant 0.78-1.0; every other variant 0-0.07.
    document_cut_off_min: float = 0.5
    # Print blur (Gaussian sigma in mm implied by the document's sharpest edges, quality.edge_blur_mm)
    # of the sharpest frame above which an unreadable MRZ is put down to blur. Blurry variant
    # 0.32-0.76 mm; genuine clean 0.10-0.20 mm, genuine hard 0.13-0.27 mm (hard 640x360 clips whose
    # MRZ could not be read reach 0.53 mm: asking for a steadier video is then the right answer).
    document_blur_max_mm: float = 0.29
    # Share of saturated pixels on the MRZ box from which glare hides the MRZ (when it does so in 80 %
    # of the best frames and the MRZ could not be read). glare_mrz variant: median 0.84-1.0; other
    # variants 0-0.45 (a reflection crossing a readable MRZ is fine).
    document_glare_min: float = 0.3
    # Chroma spread (Lab, 90th percentile after removing the cast) below which the document has no
    # colour. Photocopy 0.7-2.6; genuine 4.2-20.6; screens 2.3-44 (reported as screens instead).
    document_colour_min: float = 3.0
    # Chroma of the whole frame (99th percentile) below which the video itself has no colour, so a
    # colourless document is reported as not in colour rather than as a photocopy (chroma measured
    # after removing the frame's median cast). Colour clips 3.1-35, photocopies on a grey desk
    # included; greyscale H.264 re-encodes of them 0.6-0.8.
    video_colour_min: float = 2.0
    # Refresh-banding amplitude (log brightness) at or above which the document is on a screen.
    # Screen variant 0.079-0.31; every other variant 0.001-0.067 (the highest: hard filming on a
    # pale desk, where the outline is found less precisely).
    document_screen_banding_min: float = 0.07
    # Perspective change (corner error left by the best similarity / diagonal, 90th percentile over
    # frame pairs) below which the document was never tilted. not_tilted 0.17-1.2 %; every tilted
    # variant 4.8-10.2 %.
    document_tilt_min: float = 0.025
    # Face backend: "insightface" (SCRFD + ArcFace, non-commercial weights) or "opencv"
    # (YuNet + SFace, commercially usable weights).
    face_backend: str = "insightface"
    # A second face backend whose comparison is set beside the first ("" = none); a disagreement
    # makes the match `uncertain`. The strict re-run of manual-review cases uses both backends.
    face_cross_check: str = ""
    # ---- liveness stage (kycengine.liveness). Ranges measured on the selfie generator, 7 people x
    # clean/hard x seeds 100-102, 480x360 at 10 fps, 4 s (42 videos per variant and backend), and
    # 3 people x clean/hard at 1280x720, 30 fps, 5 s decoded at selfie_fps (30 videos); "live" ranges
    # leave out team_c, a near-profile source photo (see benchmarks/liveness.py) ----
    # Planar-fit residual (median point, % of the face width, largest over the measured spans) below
    # which the face moved as one plane. Live and no_blink 3.5-18 (1280x720 at 30 fps: 2.8-7.7);
    # print 0.38-1.43 (720p: 0.33-0.69); still 0.08-0.75. A head that does not turn is flat too
    # (not_turned 0.30-1.06): flatness alone condemns a face only once it turned by 2 x
    # liveness_turn_min; a smaller turn that stays flat is asked again (face_not_turned).
    liveness_parallax_min: float = 2.2
    # Largest face motion over half a second (% of the face width) below which the video is a still
    # picture. Still 0.40-1.01; not_turned (hand shake only) 3.3-11.9; print 7.0-31; live 17.5-59.
    liveness_still_motion_max: float = 2.0
    # Head turn each way from the rest pose (yaw index: nose offset in half eye spans, 5th/95th
    # percentile) the customer must reach, 106-point landmarks (insightface backend). Turning videos
    # 0.20-0.69 (hard capture turns 22-26 degrees), not_turned 0.006-0.061 (team_c up to 0.12).
    liveness_turn_min: float = 0.11
    # The same with YuNet's five points (opencv backend), which follow yaw less closely: turning
    # 0.067-0.67 (5th percentile 0.12), not_turned 0.007-0.083; so some live turns fail (retry).
    liveness_turn_min_yunet: float = 0.09
    # Blink transient (eye-window NCC drop at t vs t +- 0.2 s, both eyes averaged) at or above which the
    # eyes shut, insightface backend. Blinking videos 0.062-0.72 (720p: 0.17-0.45); no_blink, print,
    # still 0-0.035. team_c's far eye is hidden: its blinks read 0.028-0.54 either way.
    liveness_blink_min: float = 0.045
    # The same with YuNet's eye points (smoothed): blinking 0.060-0.70; no_blink, print, still 0-0.040.
    liveness_blink_min_yunet: float = 0.05
    # Spectral peak (log10 over its neighbourhood) of the face region at or above which a screen's
    # pixel grid is seen (moire). Clean screens 1.91-3.0; live, print, still 1.06-1.27; hard screens
    # (finer pixels, softer lens) 1.1-1.3: those are left to the bezel.
    liveness_moire_min: float = 1.6
    # Share of the three sides around the face (left, right, top) with a long straight thin dark line
    # (a device's bezel) at or above which the face is on a screen. Screens 0.67-1.0; every live,
    # print, still and not_turned video 0.
    liveness_bezel_min: float = 0.6
    # The same for a thin bright line (a photo's white border): two sides, or one side of a face that
    # never blinked (half this value), make a print. Prints 0.33-1.0 (0.33: hard prints, thin border);
    # live 0; not_turned and still 0-0.33 (one side, one video each: both blink or are still).
    liveness_border_min: float = 0.6
    # Share of frames that repeat an earlier frame (mean grey difference < 0.15 at 160x120) above which
    # frames were duplicated or looped. Every generated video 0 (consecutive frames differ by >= 0.47
    # even in still injections, whose sensor noise changes).
    liveness_duplicates_max: float = 0.2
    # A gap between kept frames longer than this (and than 4 frame steps) is a cut or splice.
    # Generated videos: 0.1 s steps at 10 fps.
    liveness_gap_max_s: float = 0.5
    # Noise floor (Immerkaer sigma of the flattest blocks near the face, grey levels) below which the
    # stream has no sensor noise (a flat-shaded render). Every generated video 0.26-1.5; a flat-shaded
    # render 0. Blurring or denoising a genuine video only brings it to ~0.21 (8-bit rounding alone
    # reads ~0.2), so this cue catches noise-free renders, not denoised replays.
    liveness_noise_min: float = 0.05
    # Operator-supplied MiniFASNet: mean 'real' probability below which the face is not live (the
    # model's own decision boundary; not calibrated here: no such weights ship with the project).
    liveness_antispoof_min_real: float = 0.5

    def strict(self) -> Settings:
        """Slower, more thorough variant for batch re-verification of manual-review cases."""
        other = "opencv" if self.face_backend == "insightface" else "insightface"
        return replace(self, document_fps=30.0, document_max_frames=24, selfie_fps=30.0,
                       face_cross_check=other)
