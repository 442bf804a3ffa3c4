"""Every tunable threshold in one frozen object, each with its meaning and where its value comes from."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .document.types import DocumentType
from .errors import InvalidInput
from .reasons import Effect
from .records import Record

FACE_BACKENDS = ("insightface", "opencv")


@dataclass(frozen=True)
class Settings(Record):
    """Engine settings; `Settings()` is the production default, `strict()` the manual-review re-run."""

    # ---- document policy: what the bank accepts, as data (kycengine.decision applies it) ----
    # Document kinds accepted. The three French documents by default (the design card's onboarding).
    accepted_documents: tuple[DocumentType, ...] = (DocumentType.FR_CNI_1988, DocumentType.FR_CNI_2021,
                                                    DocumentType.PASSPORT)
    # Issuing states (ICAO three-letter codes) whose passports are accepted; ("*",) accepts any ICAO
    # passport. French cards are French by definition.
    accepted_passport_states: tuple[str, ...] = ("FRA",)
    # Age the holder must have reached on the day of the verification (French majority).
    minimum_age: int = 18
    # What an MRZ inconsistency does when the MRZ was read clearly and the same way frame after frame
    # (ICAO 9303 check digits, document codes, dates): refuse, or review (a person decides). Never
    # retry: filming again reads the same characters.
    mrz_check_digit_effect: Effect = Effect.REFUSE
    mrz_document_code_effect: Effect = Effect.REFUSE  # TD3 not P, TD1/TD2 not A/C/I, visa not V
    mrz_issue_date_effect: Effect = Effect.REFUSE  # issue date impossible for the document model
    mrz_date_effect: Effect = Effect.REFUSE  # not a date, birth after today, expiry before birth
    # A damaged card (torn, cut, creased across the MRZ or portrait, corner missing): refuse, or
    # retry (the customer films another document).
    document_damaged_effect: Effect = Effect.REFUSE
    # Time limit of each step of a verification (decoding each video, the document stage, the face
    # track, the face and liveness stages), in seconds; 0 = none. A step runs 0.2-1 s on a 720p
    # capture on one core: the limit only stops a pathological input or a hang, and a step that hits
    # it sends the case to manual review (stage_timed_out). Enforced with SIGALRM in the main thread.
    stage_time_limit_s: float = 60.0
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
    # ... and the frames where it runs off must be at least this share of the scanned frames (and 2),
    # so that one frame never decides: a document found whole in no frame (an outline of a shape the
    # search did not know) and running off in 1 of 24 was reported cut off. cut_off variant: runs off
    # in 0.6-1.0 of the scanned frames; document_found_min is the least a document is seen in.
    document_cut_off_frames_min: float = 0.2
    # Print blur (Gaussian sigma in mm implied by the document's sharpest edges, quality.edge_blur_mm)
    # above which a frame's print is smeared, when an unreadable MRZ is put down to blur. Blurry variant
    # 0.32-0.76 mm; genuine clean 0.10-0.20 mm, genuine hard 0.13-0.27 mm (hard 640x360 clips whose
    # MRZ could not be read reach 0.53 mm: asking for a steadier video is then the right answer).
    document_blur_max_mm: float = 0.29
    # Lead per frame (summed OCR-B template correlation, kept glyph over the runner-up) under which a
    # character of a valid MRZ is in doubt when no check digit confirms it (names, state codes, or a
    # swap 7-3-1 cannot see): the field then needs the printed zone's exact agreement, or a person.
    # Weakest lead of any character of a genuine reading, benchmark corpus (3 kinds x clean/hard,
    # 1280x720): seeds 0-1 0.040-0.15, held-out seeds 2-3 0.063-0.15 (none below the threshold);
    # the one wrong reading (a 2021 card whose vote never settled, letters shifted) 0.0008-0.032 and
    # negative on its codes. At 640x360 genuine passports' names lead down to 0.015 (the printed zone
    # then confirmed them: 22 of 22 correct readings approved, seeds 0-3) and the two wrong readings
    # (ELQDIE, LE<QALL) went to review. benchmarks/mrz_peers.py reports what the stage does.
    mrz_confirm_margin: float = 0.02
    # ... and the same blur in the frame's own pixels above which it is more than the camera's
    # sampling: at 640x360 a document spans 2.5-4 px/mm, so a sharp print measures 0.3-0.4 mm there
    # (real 640x360 captures were called blurry one time in two). Generator, seeds 1-3, best 8 frames
    # per video (median over them): genuine 640x360 0.40-1.24 px, genuine 1280x720 0.8-2.1 px (all of
    # them under document_blur_max_mm); blurry 640x360 1.54-3.4 px.
    document_blur_min_px: float = 1.4
    # Share of the best frames whose print is smeared (both limits above) from which blur explains an
    # unreadable MRZ (the median frame, not the sharpest one alone).
    document_blur_share_min: float = 0.5
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
    # the pairs of all scanned frames with the document) below which the document was never tilted.
    # Customers tilt less than asked: real 720p videos tilted 5-13 degrees measured under the former
    # 2.5 % four times in ten. Generator (1280x720 and 640x360, 3 kinds, clean and hard): calibration
    # seeds 1-4, gentle_tilt (5-13 degrees) 2.06-3.22 %, not_tilted 0.19-0.75 %; held-out seeds 20-22,
    # gentle_tilt 1.11-3.62 % (a 5-degree tilt measures about 1.1 %), not_tilted 0.20-0.25 % at 1280x720
    # (an earlier corpus, seeds 1-6, had not_tilted up to 1.2 %: the margin is thin on that side);
    # the standard 15-25 degree tilt 4.8-10.2 %.
    document_tilt_min: float = 0.010
    # ---- document damage (kycengine.document.damage): torn, cut, creased, corner missing. Measured on
    # the generator's 15 document variants x 3 types x clean/hard filming x seeds 1-6, at 1280x720 and
    # 640x360, 10 fps, 2 s (1080 videos) through the document stage. "Others": the 10 earlier variants
    # where the check is judged (not on a screen or copy, nor when blur or glare is the finding); they
    # never reach any threshold. Damaged documents caught: 350/360 (missed: 4 passport creases and 2
    # thin strips cut off a passport page at 640x360, 1 tear at 640x360 hard; 3 hard passport creases
    # reported as blurry instead). Held out, seeds 40-42 (540 videos): others' crease line up to 0.019
    # and shading up to 0.128, one false outline (5 mm, a 2021 card); 170/180 damaged caught ----
    # Length (mm) of the document's edge lying 1 mm or more inside its side's line, with the surface
    # showing there, in most views, from which a part is missing. Others 0-1.0; corner_missing
    # 3.5-16.5 (passport pages, torn beside the MRZ, 3.5-11.5); cut 3-22 (2 passport strips 1.0);
    # torn 0-2 (its rip is the tear below).
    document_damage_outline_min_mm: float = 2.0
    # Thin-line strength (median contrast over the print's range, weakest of the line's pieces from
    # edge to edge) of the best straight line from which the document is creased. Others 0-0.015
    # (held-out seeds 40-42: up to 0.019, hence 0.025 rather than 0.02, which cost 6 of 144 creases);
    # creased_mrz 0.011-0.24, creased_portrait 0.001-0.23 (below 0.025: mostly passports filmed
    # hard, whose fold line the blur dissolves).
    document_damage_crease_min: float = 0.025
    # Spread over the views (log brightness) of the lighting step across a straight line from which
    # the two halves of a fold are lit differently as the document tilts (a crease whose line is
    # faint). Others 0.002-0.088 (glare_mrz up to 0.134, judged only where its glare is not the
    # finding); creased 0.003-0.21.
    document_damage_crease_shading_min: float = 0.15
    # Depth (mm) of a strong thin piece running in from the edge from which it is a tear. Others
    # 0-1.4; torn 4-25.6 (one 1988 card at 640x360 hard 0); creases that reach an edge 1-36.
    document_damage_tear_min_mm: float = 3.0
    # ---- end of document damage ----
    # Face backend: "insightface" (SCRFD + ArcFace, non-commercial weights) or "opencv"
    # (YuNet + SFace, commercially usable weights).
    face_backend: str = "insightface"
    # A second face backend whose comparison is set beside the first ("" = none); a disagreement
    # makes the match `uncertain`. The strict re-run of manual-review cases uses both backends.
    face_cross_check: str = ""
    # Identity consistency (face.matcher: each of 6 stretches' face against the others', lowest median
    # similarity) below which a face was swapped in during the capture. Seeds 100-101 (7 people x
    # clean/hard, 480x360, 10 fps, 4 s), picks at the reference pose (face.matcher.PROFILE_YAW): live
    # 0.40-0.83 insightface (team_c, a near-profile source photo, 0.30-0.76; 0.19 when its picks were
    # its most frontal sightings, caught mid-turn), 0.31-0.83 opencv; face_swap_middle -0.11-0.09
    # insightface, -0.06-0.16 opencv. Held out (seeds 0-1, 28 live and 28 face_swap_middle videos per
    # backend): live 0.45-0.88 insightface (team_c 0.46-0.80; it was 0.20, refused), 0.39-0.86 opencv;
    # face_swap_middle -0.09-0.12 insightface, -0.07-0.23 opencv (0.23: group_a seed 1, a thin margin
    # the pick rule did not change).
    # Below the match thresholds' no-match bound (0.34, 0.36): turned faces of one person score lower
    # against each other than against the portrait, someone else stays near 0.
    face_consistency_min: float = 0.25
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
    # Head turn each way from the rest pose (landmarks.plane_yaw: the nose's offset in the affine
    # frame of the eyes and mouth, in half eye spans, 5th/95th percentile) the customer must reach,
    # 106-point landmarks (insightface backend). Seeds 100-101 (7 people x clean/hard, 28 videos
    # each): live 0.31-0.82 (hard capture turns 22-26 degrees), not_turned 0.0-0.061, print_rocked
    # (a print rocked fast in 3D: its landmarks wobble) 0.026-0.146; the old eye-axis yaw index read
    # the rocked prints' foreshortening as turns of up to 0.19 each way (live from 0.20).
    liveness_turn_min: float = 0.2
    # The same with YuNet's five points (opencv backend), seeds 100-101 (astronaut, yaoming, group_a x
    # clean/hard): live 0.26-0.65, not_turned 0.004-0.065, print_rocked 0.053-0.134.
    liveness_turn_min_yunet: float = 0.18
    # Blink transient at or above which the eyes shut, insightface backend: the detour an eye window's
    # look takes through frame t between t - 0.2 s and t + 0.2 s, (d(t-, t) + d(t, t+) - d(t-, t+)) / 2
    # with d = 1 - NCC, both eyes averaged (liveness.pose). Measured on seeds 200-205 (7 people x
    # clean/hard, 480x360, 10 fps, 4 s): blinking 0.144-0.53; no_blink 0.007-0.034, print (all people)
    # 0.008-0.034, still 0.001-0.006. The threshold is the geometric mean of 0.144 and 0.034. 1280x720
    # at 30 fps, seed 200 (astronaut, yaoming, team_b x clean/hard): blinking 0.16-0.42, no_blink
    # 0.016-0.024. team_c's far eye is hidden: its blinks read 0.058-0.90, its no_blink up to 0.21.
    # Each eye now counts by how much of it is seen (liveness.pose.eye_visibility): team_c live, seeds
    # 0-3 x clean/hard, 0.094-0.56 (0.049-0.32 when the eyes counted alike: 2 of 8 below 0.07); its
    # no_blink 0.018-0.37 (the near eye's look changes as the head turns; it was 0.010-0.30).
    liveness_blink_min: float = 0.07
    # The same with YuNet's eye points (median then Savitzky-Golay smoothed), same videos: blinking
    # 0.112-0.58; no_blink 0.007-0.035, print (all people) 0.006-0.042, still 0.001-0.019; geometric
    # mean of 0.112 and 0.042. 720p: blinking 0.15-0.46, no_blink 0.012-0.018. team_c: blinks
    # 0.066-0.27, no_blink up to 0.13. With eye_visibility, team_c live seeds 0-3: 0.116-0.41 (0.069-0.21
    # before); its no_blink 0.017-0.148.
    liveness_blink_min_yunet: float = 0.07
    # Spectral peak (log10 over its neighbourhood) of the face region at or above which a screen's
    # pixel grid is seen (moire). Clean screens 1.74-3.2; live, still 1.05-1.27; prints 1.09-1.26, but
    # 2.9 for a coarse laser dot screen filmed at 1280x720 (its white border makes it a print); hard
    # screens (finer pixels, softer lens) 1.11-1.22: those are left to the bezel.
    liveness_moire_min: float = 1.6
    # Share of the three sides around the face (left, right, top) with a long straight thin dark line
    # (a device's bezel) at or above which the face is on a screen. Screens 0.67-1.0; every live,
    # print, still and not_turned video 0.
    liveness_bezel_min: float = 0.6
    # The same for a thin bright line (a photo's white border): two sides, or one side of a face that
    # never blinked (half this value), make a print. Prints 0-1.0 (0-0.33: hard prints, thin border);
    # live 0; not_turned and still 0-0.33 (one side, one video each: both blink or are still). Two
    # sides beside a face that turned in 3D are a device's light bezel (a replayed video); one side
    # (half this value) sends the selfie to a person: phones with a thin white bezel 1.0 at seed 100
    # (7 people x clean/hard), 0.33-1.0 on held-out seed 0 (the hard ones 0.33: one side found);
    # live 0 at 480x360 on seeds 100-101 and 0-1, but 0.33 for a live 1280x720 selfie (team_b, seed
    # 12: a bright edge of the room beside the face).
    liveness_border_min: float = 0.6
    # New screen and print cues: the same 480x360 videos and 7 people x clean/hard at 1280x720, 30 fps,
    # 2 s (seed 100; prints 100-101); both backends, team_c included.
    # Flicker (log grey): mean deviation (the largest left out) of the face centre's light, less the
    # room's, from its smooth trend over the 6 frames around each sampled frame, at or above which the
    # face's light jumps as a screen's does (pulsing, reflections sliding on its glass). Live 0.0005-
    # 0.0030 (720p: 0.0007-0.0035); print 0.0004-0.0020; screens 0.0014-0.024 (clean 0.0024-0.024).
    # With the panels' pulsing switched off, as many screens still reach it: mostly the glass.
    liveness_flicker_min: float = 0.0045
    # Banding (log grey): row structure shared by the left and right halves of those light changes
    # around the face, at or above which a screen's rolling bands are seen. Live 0-0.0031 (720p:
    # 0-0.0027; held-out 2 s clips up to 0.0049, team_c turning fast); print 0-0.0025; screens 0-0.026
    # (strong PWM bands only; none with pulsing off).
    liveness_banding_min: float = 0.007
    # Gamut: median blue over median red of the face's centre at or above which its light is a screen's
    # (bluer than the room light a face is lit by). Live 0.38-0.87 (yaoming's bluish photo the top);
    # print 0.54-0.92; screens 0.58-1.01.
    liveness_gamut_min: float = 0.93
    # Background (log grey): spatial spread of the smoothed light change of the strips left and right
    # of the face between neighbouring frames, the camera's shift taken out, at or above which the
    # background is part of a screen (its bands, the reflections on its glass and the perspective of
    # a tilting plane change it; a room's light holds still). Seed 100, 7 people x clean/hard, 480x360
    # at 10 fps, insightface track: live 0.0023-0.0067, not_turned 0.0017-0.0042; monitors filling
    # the frame 0.0077-0.064; prints 0.0025-0.0079 (their border keeps them prints). The threshold is
    # the geometric mean of 0.0067 and 0.0077: a thin margin, measured on generated rooms only. Held
    # out (seeds 0 attacks, 0-1 live): live 0.0023-0.0064, monitors 0.0039-0.059 (2 of 14 below it),
    # and looped live clips with fresh noise up to 0.0092: a live-like video can reach it. Seed 1:
    # 9 of 14 monitors below it (insightface), 6 of 14 (opencv): this cue alone does not stop them.
    liveness_background_min: float = 0.0072
    # Halftone: diagonal spectral peak (log10 over its neighbourhood) of the face region at or above
    # which a printer's dot lattice is seen. Live 1.04-1.23; prints 1.03-1.23 at 480x360 (the dots are
    # finer than a pixel), 1.05-2.9 at 720p (2.9: a 37 lines-per-inch laser print); screens 1.03-1.48
    # at 480x360 and 2.2-3.1 at 720p (an aliased pixel grid lands on the diagonal too).
    liveness_halftone_min: float = 1.45
    # Flat: the face's 1st over its 99th grey-level percentile at or above which its tones are a print's
    # (ink black well above a camera's black, no highlight above the paper's white). Live 0.047-0.244
    # (group_d's low-contrast photo the top; 0.257 on held-out seeds); prints 0.154-0.368 (low:
    # photo-lab prints' deep black); screens 0.084-0.348.
    liveness_flat_min: float = 0.29
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
    # Loop (liveness.loop): how far the frames' signature distance (1 - correlation of 32x24 grey
    # thumbnails) dips at the strongest lag below its level half a lag either side, at or above which
    # a clip was looped, re-encoded or not. Seeds 100 (attacks) and 100-101 (live, not_turned), 7
    # people x clean/hard, 480x360 at 10 fps, 4 s, insightface: live 0.44-0.75, not_turned 0.62-0.98,
    # phone and monitor replays 0.51-1.27; a 1 s clip looped and re-encoded at crf 23 (28 hard)
    # 125-1198, with fresh noise 44-683. The threshold is the geometric mean of 1.27 and 44. Held out
    # (seeds 0 attacks, 0-1 live, both backends): live 0.59-1.08, replays up to 1.22, loops 159-977,
    # with fresh noise 45-425.
    liveness_loop_min: float = 7.5
    # Operator-supplied MiniFASNet: mean 'real' probability below which the face is not live (the
    # model's own decision boundary; not calibrated here: no such weights ship with the project).
    liveness_antispoof_min_real: float = 0.5
    # ---- live capture sessions (kycengine.capture, web/capture) ----
    # A session closes (try again) after this many frames or seconds of frames, whichever comes
    # first; the selfie challenge lasts at most 15 s and a document is read and tilted in a few.
    capture_max_frames: int = 600
    capture_max_seconds: float = 60.0
    # The document's width over the frame's below which the customer is asked to move closer (the
    # MRZ's characters need about 8 px at 1280 px; half the frame's width keeps 640x360 readable).
    capture_card_width_min: float = 0.45
    # A document session lasts at least this long, read and tilted or not: the verdict's screen and
    # tilt checks compare the document across frames spread over the video.
    capture_document_min_seconds: float = 2.0

    def __post_init__(self) -> None:
        for name in ("mrz_check_digit_effect", "mrz_document_code_effect", "mrz_issue_date_effect",
                     "mrz_date_effect"):
            if getattr(self, name) not in (Effect.REFUSE, Effect.REVIEW):
                raise InvalidInput(f"{name}: refuse or review (filming again reads the same MRZ)")
        if self.document_damaged_effect not in (Effect.REFUSE, Effect.RETRY):
            raise InvalidInput("document_damaged_effect: refuse or retry")
        if not self.accepted_documents:
            raise InvalidInput("accepted_documents: at least one document type")
        if not 0 <= self.minimum_age <= 120:
            raise InvalidInput(f"minimum_age: 0-120, got {self.minimum_age}")
        if self.face_backend not in FACE_BACKENDS:
            raise InvalidInput(f"face_backend: one of {', '.join(FACE_BACKENDS)}, got {self.face_backend!r}")
        if self.face_cross_check not in ("", *FACE_BACKENDS):
            raise InvalidInput(f"face_cross_check: '' or one of {', '.join(FACE_BACKENDS)}")

    def accepts_passport_of(self, state: str) -> bool:
        """True when passports issued by `state` are accepted."""
        return "*" in self.accepted_passport_states or state in self.accepted_passport_states

    def strict(self) -> Settings:
        """Slower, more thorough variant for batch re-verification of manual-review cases: every
        frame up to 30 fps, and faces cross-checked with the licence-clean `opencv` backend when the
        engine runs `insightface` (never the reverse: a deployment on `opencv` has chosen it because
        the InsightFace weights' non-commercial licence rules them out)."""
        return replace(self, document_fps=30.0, document_max_frames=24, selfie_fps=30.0,
                       face_cross_check="opencv" if self.face_backend == "insightface" else "")
