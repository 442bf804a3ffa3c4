"""Generate a labelled phone video of an identity document: genuine, or with one thing wrong.

`make_document_video` writes the MP4 and a JSON sidecar beside it (`path.with_suffix(".json")`,
e.g. `sample.mp4` -> `sample.json`) holding the `DocumentLabels` ground truth: the identity, who is
on the portrait, the MRZ as printed, the reasons the engine should give and the document's corners
in every frame. Everything is drawn from `seed`: the same arguments give the same frames.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np

from .. import video
from ..document.mrz import parse
from ..document.types import DocumentType
from ..errors import InvalidInput
from ..reasons import Reason
from ..records import Record
from . import damage, documents, faces, filming
from .damage import DamageLabel
from .identity import DEFAULT_TODAY, Identity, UsageName, random_identity, random_usage_name

GENERATOR_VERSION = "1"
CRF = 23  # phone-like H.264 quality
CRF_HARD = 28
# Sex of each person the face library ships (looked at by hand), so that the printed sex matches
# the portrait; a person missing here gets a random one.
_SEX = {"astronaut": "F", "group_d": "F", "yaoming": "M", "group_a": "M", "group_c": "M",
        "team_b": "M", "team_c": "M"}


class DocumentVariant(str, enum.Enum):
    """What is wrong with the filmed document (nothing, for `genuine`)."""

    GENUINE = "genuine"
    EXPIRED = "expired"  # the expiry date is before `today`
    MRZ_CORRUPTED = "mrz_corrupted"  # one MRZ character changed after composing: one check fails
    PHOTOCOPY = "photocopy"  # a black-and-white photocopy cut to size
    SCREEN = "screen"  # the document shown on a screen and filmed
    CUT_OFF = "cut_off"  # part of the document is outside the frame all along
    BLURRY = "blurry"  # too blurry to read
    GLARE_MRZ = "glare_mrz"  # a strong glare hides the MRZ in every frame
    OTHER_PHOTO = "other_photo"  # the portrait shows someone other than the holder
    NOT_TILTED = "not_tilted"  # moved only in its plane: constant perspective and reflection
    # damaged documents (synth.damage)
    TORN = "torn"  # a rip running in from an edge
    CUT = "cut"  # a straight cut through a corner: a slice or a thin strip
    CREASED_MRZ = "creased_mrz"  # folded along a line across the MRZ
    CREASED_PORTRAIT = "creased_portrait"  # folded along a line across the portrait
    CORNER_MISSING = "corner_missing"  # a corner torn off


class Capture(str, enum.Enum):
    """How the customer films the document: what shape is seen and how much it is tilted."""

    STANDARD = "standard"  # tilted 15-25 degrees (hard 20-30); a passport open, its data page clear
    GENTLE_TILT = "gentle_tilt"  # tilted only 5-13 degrees at most, as many customers do
    SLEEVE = "sleeve"  # inside a clear plastic sleeve a few millimetres larger than the document
    # passport held open with its fold upright, the data page turned a quarter beside its facing page:
    # pages flush at the fold, the open booklet (176 x 129 mm) the clear outline
    OPEN_BOOKLET = "open_booklet"
    FOREIGN = "foreign"  # passport of another state: its own data-page layout, MRZ of that state, held open
    # held long side up (the phone turned, or the card upright): the document turned a quarter
    # either way in the frame (a passport with its facing page beside it)
    UPRIGHT = "upright"


GENTLE_TILT_DEG = (5.0, 13.0)  # the largest tilt of a gentle capture
# Issuing states (ICAO codes) drawn for a foreign passport: 3-letter codes and Germany's "D".
FOREIGN_STATES = ("NLD", "ITA", "ESP", "BEL", "D", "CHE", "GBR", "PRT")
_PASSPORT_ONLY = frozenset({Capture.OPEN_BOOKLET, Capture.FOREIGN})


EXPECTED_REASONS: dict[DocumentVariant, tuple[Reason, ...]] = {
    DocumentVariant.GENUINE: (),
    DocumentVariant.EXPIRED: (Reason.DOCUMENT_EXPIRED,),
    DocumentVariant.MRZ_CORRUPTED: (Reason.MRZ_INCONSISTENT,),
    DocumentVariant.PHOTOCOPY: (Reason.DOCUMENT_PHOTOCOPY,),
    DocumentVariant.SCREEN: (Reason.DOCUMENT_SCREEN,),
    DocumentVariant.CUT_OFF: (Reason.DOCUMENT_CUT_OFF,),
    DocumentVariant.BLURRY: (Reason.DOCUMENT_BLURRY,),
    DocumentVariant.GLARE_MRZ: (Reason.DOCUMENT_GLARE,),
    DocumentVariant.OTHER_PHOTO: (Reason.FACE_MISMATCH,),
    DocumentVariant.NOT_TILTED: (Reason.DOCUMENT_NOT_TILTED,),
    DocumentVariant.TORN: (Reason.DOCUMENT_DAMAGED,),
    DocumentVariant.CUT: (Reason.DOCUMENT_DAMAGED,),
    DocumentVariant.CREASED_MRZ: (Reason.DOCUMENT_DAMAGED,),
    DocumentVariant.CREASED_PORTRAIT: (Reason.DOCUMENT_DAMAGED,),
    DocumentVariant.CORNER_MISSING: (Reason.DOCUMENT_DAMAGED,),
}
_DAMAGE: dict[DocumentVariant, damage.Damager] = {
    DocumentVariant.TORN: damage.tear,
    DocumentVariant.CUT: damage.cut,
    DocumentVariant.CREASED_MRZ: partial(damage.crease, across="mrz"),
    DocumentVariant.CREASED_PORTRAIT: partial(damage.crease, across="portrait"),
    DocumentVariant.CORNER_MISSING: damage.corner_missing,
}


@dataclass(frozen=True)
class DocumentLabels(Record):
    """Ground truth of a generated document video; corners are frame pixels, TL, TR, BR, BL."""

    generator_version: str
    seed: int
    document_type: DocumentType
    variant: DocumentVariant
    hard: bool
    identity: Identity
    holder_person: str  # face id (synth.faces) of the holder: whom the selfie should show
    portrait_person: str  # face id of the person actually printed on the document
    mrz_lines: tuple[str, ...]  # as printed, after any corruption
    mrz_valid: bool  # every check digit of the printed MRZ is right
    expected_reasons: tuple[Reason, ...]
    today: date
    fps: float
    frame_count: int
    width: int
    height: int
    corners: tuple[tuple[tuple[float, float], ...], ...]  # per frame, the document's four corners
    damage: DamageLabel | None = None  # what the damaged variants did to the document
    capture: Capture = Capture.STANDARD


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """Where the labels of the video at `path` are written: same name, `.json` suffix."""
    return Path(path).with_suffix(".json")


def load_labels(path: str | os.PathLike[str]) -> DocumentLabels:
    """Labels of the video at `path`, read from its sidecar."""
    return DocumentLabels.from_dict(json.loads(sidecar_path(path).read_text(encoding="utf-8")))


def corrupt_mrz(lines: tuple[str, ...], rng: np.random.Generator, *, today: date) -> tuple[str, ...]:
    """`lines` with one character changed so that exactly one check digit fails (and nothing else)."""
    positions = [(row, col) for row, line in enumerate(lines) for col, char in enumerate(line) if char != "<"]
    for index in rng.permutation(len(positions)):
        row, col = positions[int(index)]
        char = lines[row][col]
        pool = string.digits if char.isdigit() else string.ascii_uppercase
        replacement = str(rng.choice([c for c in pool if c != char]))
        changed = list(lines)
        changed[row] = lines[row][:col] + replacement + lines[row][col + 1:]
        mrz = parse("\n".join(changed), today=today)
        failed = [c for c in mrz.checks if not c.valid]
        if len(failed) == 1 and len(mrz.problems) == 1:
            return tuple(changed)
    raise AssertionError("corrupt_mrz: no single character breaks exactly one check")


def _people(rng: np.random.Generator, variant: DocumentVariant, person: str | None) -> tuple[str, str]:
    """(holder, person on the portrait): `person`, or one drawn; someone else of the same sex on the
    portrait for `other_photo`."""
    if person is not None and person not in faces.PEOPLE:
        raise InvalidInput(f"unknown person {person!r}; choose one of {', '.join(faces.PEOPLE)}")
    drawn = str(rng.choice(faces.PEOPLE))  # drawn even when given: the portrait's draw stays the same
    holder = person or drawn
    if variant is not DocumentVariant.OTHER_PHOTO:
        return holder, holder
    others = [p for p in faces.PEOPLE if p != holder]
    alike = [p for p in others if _SEX.get(p) == _SEX.get(holder)]
    return holder, str(rng.choice(alike or others))


def _subject(variant: DocumentVariant, render: documents.CardRender, trajectory: filming.Trajectory,
             rng: np.random.Generator, flush: bool, width_mm: float) -> filming.Subject:
    """What the camera films: the card or open passport (its pages `flush`), its photocopy, or a
    screen showing it; `width_mm`: the length of the side the trajectory's corners start with."""
    if variant is DocumentVariant.PHOTOCOPY:
        return filming.card_subject(documents.photocopy(render, rng), filming.Surface.PAPER)
    if variant is DocumentVariant.SCREEN:
        corners = np.array(trajectory.corners)
        frame_px_per_mm = float(np.linalg.norm(corners[:, 1] - corners[:, 0], axis=1).mean()) / width_mm
        return filming.screen_subject(render, rng, rng.uniform(1.2, 1.8) / frame_px_per_mm)
    if render.document_type is DocumentType.PASSPORT:
        booklet = filming.booklet_subject(render, documents.facing_page(render), flush=flush)
        return filming.quarter_turned(booklet) if flush else booklet
    return filming.card_subject(render)


def _mm_box(box: documents.Box, px_per_mm: float) -> tuple[float, float, float, float]:
    """A render's pixel box in millimetres."""
    x, y, w, h = box
    return (x / px_per_mm, y / px_per_mm, w / px_per_mm, h / px_per_mm)


def document_video_frames(*, document_type: DocumentType, variant: DocumentVariant = DocumentVariant.GENUINE,
                          seed: int = 0, hard: bool = False, size: tuple[int, int] = (1280, 720),
                          fps: float = 30.0, seconds: float = 4.0,
                          today: date = DEFAULT_TODAY, usage_name: bool | UsageName = False,
                          person: str | None = None, capture: Capture = Capture.STANDARD,
                          ) -> tuple[DocumentLabels, Iterator[np.ndarray]]:
    """The labels and the BGR frames (produced lazily) of a document video, without encoding it.

    `usage_name` prints a usage name below the surname: True draws one, a `UsageName` gives it. It
    is drawn from a stream of its own, so a seed's identity and frames without one never change.
    `person` (one of faces.PEOPLE) is the holder; by default one is drawn from the seed.
    `capture` changes how the document is filmed (`Capture`); its draws come from a stream of their own.
    Raises InvalidInput when the variant is impossible for the document on `today` (a 2021 CNI
    cannot be expired before 2031), for an unknown person, or for a passport-only capture of a card.
    """
    document_type, variant, capture = DocumentType(document_type), DocumentVariant(variant), Capture(capture)
    if capture in _PASSPORT_ONLY and document_type is not DocumentType.PASSPORT:
        raise InvalidInput(f"capture {capture.value!r} is for passports, not {document_type.value}")
    # usage names and damage draw from streams of their own, so that every other video renders as
    # it did before they existed (a seed's first children do not depend on how many are spawned)
    people_rng, identity_rng, card_rng, camera_rng, frame_rng, usage_rng, damage_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7))
    capture_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(8)[7])
    state = str(capture_rng.choice(FOREIGN_STATES)) if capture is Capture.FOREIGN else documents.FRANCE
    holder, portrait = _people(people_rng, variant, person)
    identity = random_identity(identity_rng, document_type, today=today,
                               expired=variant is DocumentVariant.EXPIRED, sex=_SEX.get(holder))
    if usage_name is not False:
        usage = usage_name if isinstance(usage_name, UsageName) else random_usage_name(usage_rng, identity.surname)
        identity = dataclasses.replace(identity, usage=usage)
    lines = documents.mrz_lines(identity, state)
    if variant is DocumentVariant.MRZ_CORRUPTED:
        lines = corrupt_mrz(lines, card_rng, today=today)
    render = documents.render(identity, portrait, card_rng, mrz=lines, state=state)
    shot = filming.Shot(
        size=size, fps=fps, seconds=seconds, hard=hard,
        tilt=variant is not DocumentVariant.NOT_TILTED, cut_off=variant is DocumentVariant.CUT_OFF,
        defocus_mm=card_rng.uniform(0.5, 0.7) if variant is DocumentVariant.BLURRY else None,
        glare_box_mm=_mm_box(render.mrz_box, render.px_per_mm) if variant is DocumentVariant.GLARE_MRZ else None,
        tilt_range_deg=GENTLE_TILT_DEG if capture is Capture.GENTLE_TILT else None)
    # an open passport held with its fold upright: the data page is filmed turned a quarter (not its
    # photocopy or a screen, which show the page alone)
    turned = capture in _PASSPORT_ONLY and variant not in (DocumentVariant.PHOTOCOPY, DocumentVariant.SCREEN)
    upright = capture is Capture.UPRIGHT
    doc_w, doc_h = document_type.size_mm
    planned = (doc_h, doc_w) if turned or upright else (doc_w, doc_h)
    trajectory = filming.plan(shot, planned, camera_rng)
    subject = _subject(variant, render, trajectory, card_rng, flush=turned, width_mm=planned[0])
    damaged = None
    if variant in _DAMAGE:
        subject, damaged = _DAMAGE[variant](subject, render, damage_rng)
    if upright:  # the top of the document to the left or to the right
        subject = filming.quarter_turned(subject, 1 + 2 * int(capture_rng.integers(2)))
    if capture is Capture.SLEEVE:
        subject = filming.sleeved_subject(subject, capture_rng)
    labels = DocumentLabels(
        generator_version=GENERATOR_VERSION, seed=seed, document_type=document_type, variant=variant,
        hard=hard, identity=identity, holder_person=holder, portrait_person=portrait, mrz_lines=lines,
        mrz_valid=all(c.valid for c in parse("\n".join(lines), today=today).checks),
        expected_reasons=EXPECTED_REASONS[variant], today=today, fps=float(fps),
        frame_count=shot.frame_count, width=size[0] - size[0] % 2, height=size[1] - size[1] % 2,
        corners=trajectory.corners, damage=damaged, capture=capture)
    return labels, filming.frames(subject, shot, trajectory, frame_rng)


def make_document_video(path: str | os.PathLike[str], *, document_type: DocumentType,
                        variant: DocumentVariant = DocumentVariant.GENUINE, seed: int = 0, hard: bool = False,
                        size: tuple[int, int] = (1280, 720), fps: float = 30.0, seconds: float = 4.0,
                        today: date = DEFAULT_TODAY, usage_name: bool | UsageName = False,
                        person: str | None = None, capture: Capture = Capture.STANDARD) -> DocumentLabels:
    """Film a generated document into an H.264 MP4 at `path`; writes its JSON sidecar and returns its labels.

    See `document_video_frames` for the arguments and errors.
    """
    labels, frames = document_video_frames(document_type=document_type, variant=variant, seed=seed, hard=hard,
                                           size=size, fps=fps, seconds=seconds, today=today,
                                           usage_name=usage_name, person=person, capture=capture)
    video.write(path, frames, fps, crf=CRF_HARD if hard else CRF)
    sidecar_path(path).write_text(json.dumps(labels.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    return labels
