"""Still scans of a document page with the clutter that makes MRZ line finding fail on real pages.

Each class puts one rendered document (`documents.render`) on a sheet of paper and adds one kind of
trouble near its MRZ: a line of OCR-B text above or below it (same font, size and pitch, shorter
than the MRZ), a row of printed text under it, a pen annotation box under it, a rotation of the
whole page by an arbitrary angle, a quarter turn with a red overprint across the MRZ; a blank sheet
has no MRZ at all. The truth is the document's MRZ lines (empty for the blank sheet).
"""

from __future__ import annotations

import enum
import string
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..document.mrz_band import turn_canvas
from ..document.ocrb import OCRB_FONT
from ..document.types import DocumentType
from . import documents
from .faces import PEOPLE
from .identity import random_identity

_PAPER = (246, 246, 243)
_MARGIN_MM = 14.0  # paper around the document on the sheet


class StillClass(str, enum.Enum):
    """The kinds of trouble a still can carry."""

    CLEAN = "clean"
    OCR_LINE_ABOVE = "ocr_line_above"
    OCR_LINE_BELOW = "ocr_line_below"
    TEXT_ROW_UNDER = "text_row_under"
    ANNOTATION_BOX = "annotation_box"
    ROTATED = "rotated"
    TURNED_OVERPRINT = "turned_overprint"
    BLANK = "blank"


@dataclass(frozen=True, eq=False)
class MRZStill:
    """A BGR still, what it shows (class, document kind, rotation) and the MRZ printed on it."""

    image: np.ndarray = field(repr=False)
    still_class: StillClass
    document_type: DocumentType | None
    angle: float  # degrees the page was turned, counter-clockwise
    mrz_lines: tuple[str, ...]  # empty when the still has no MRZ
    mrz_quad: np.ndarray = field(repr=False)  # 4x2 corners of the MRZ's box in still pixels (empty: none)


def _ocrb(size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(OCRB_FONT), size_px)


def _sheet(render: documents.CardRender) -> tuple[np.ndarray, int]:
    """The document pasted on a paper sheet with margins; returns the sheet and the margin in px."""
    margin = int(round(_MARGIN_MM * render.px_per_mm))
    h, w = render.image.shape[:2]
    sheet = np.full((h + 2 * margin, w + 2 * margin, 3), _PAPER[::-1], np.uint8)
    alpha = (render.mask.astype(np.float32) / 255)[..., None]
    region = sheet[margin:margin + h, margin:margin + w]
    region[:] = (alpha * render.image + (1 - alpha) * region).astype(np.uint8)
    return sheet, margin


def _ocr_line(draw: ImageDraw.ImageDraw, rng: np.random.Generator, render: documents.CardRender,
              margin: int, below: bool) -> None:
    """A line of OCR-B at the MRZ's size and pitch, left-aligned with it, 40-70 % of its length,
    one MRZ line spacing above the first line or below the last."""
    ppm = render.px_per_mm
    boxes = render.mrz_line_boxes
    spacing = boxes[1][1] - boxes[0][1]
    count = int(round(len(render.mrz_lines[0]) * rng.uniform(0.4, 0.7)))
    text = "".join(rng.choice(list(string.ascii_uppercase + string.digits + "<"), count))
    x0, y0 = boxes[0][0] + margin, (boxes[-1][1] + spacing if below else boxes[0][1] - spacing) + margin
    font = _ocrb(int(round(documents.MRZ_CAP_HEIGHT_MM / 0.71 * ppm)))
    pitch = documents.MRZ_PITCH_MM * ppm
    baseline = y0 + boxes[0][3]
    for col, char in enumerate(text):
        draw.text((x0 + (col + 0.5) * pitch, baseline), char, font=font, fill=(22, 22, 26), anchor="ms")


def _text_row(draw: ImageDraw.ImageDraw, rng: np.random.Generator, render: documents.CardRender,
              margin: int) -> None:
    """A row of proportional printed text under the MRZ, about as wide as it."""
    x, y, w, h = render.mrz_box
    words = ["Document", "delivered", "by", "the", "prefecture", "of", "Paris", "copy", "certified",
             "conform", "to", "the", "original", "page", "no", "valid", "for", "travel"]
    font = ImageFont.truetype(documents._font_file("sans"), int(round(2.6 * render.px_per_mm)))
    text = ""
    while draw.textlength(text, font=font) < w * rng.uniform(0.8, 1.0):
        text += str(rng.choice(words)) + " "
    draw.text((x + margin, y + h + margin + 0.8 * render.px_per_mm + rng.uniform(0, 4) * render.px_per_mm),
              text.strip(), font=font, fill=(30, 30, 40), anchor="lt")


def _annotation_box(draw: ImageDraw.ImageDraw, rng: np.random.Generator, render: documents.CardRender,
                    margin: int) -> None:
    """A pen rectangle under the MRZ (part of it overlapping the card edge) with a short note in it."""
    ppm = render.px_per_mm
    x, y, w, h = render.mrz_box
    left = x + margin + rng.uniform(-0.05, 0.3) * w
    top = y + h + margin + rng.uniform(0.5, 3.0) * ppm
    width, height = rng.uniform(0.5, 0.95) * w, rng.uniform(7, 11) * ppm
    ink = tuple(int(v) for v in rng.choice([(20, 40, 150), (20, 20, 20), (150, 30, 30)]))
    draw.rectangle((left, top, left + width, top + height), outline=ink, width=max(2, int(0.35 * ppm)))
    font = ImageFont.truetype(documents._font_file("condensed"), int(round(3.2 * ppm)))
    draw.text((left + 2 * ppm, top + height / 2), "Checked - copy no " + str(int(rng.integers(10, 999))),
              font=font, fill=ink, anchor="lm")


def _overprint(image: np.ndarray, rng: np.random.Generator, render: documents.CardRender, margin: int) -> np.ndarray:
    """Red stamp text across the page and its MRZ, as transparent ink: black print stays black under it."""
    layer = Image.new("L", (image.shape[1], image.shape[0]), 0)
    draw = ImageDraw.Draw(layer)
    ppm = render.px_per_mm
    font = ImageFont.truetype(documents._font_file("bold"), int(round(rng.uniform(7, 10) * ppm)))
    x, y, w, h = render.mrz_box
    for dy in (-0.6, 0.4):
        draw.text((x + margin + rng.uniform(0, 0.2) * w, y + margin + h * (0.5 + dy)), "SPECIMEN  SPECIMEN",
                  font=font, fill=255, anchor="lm")
    angle = rng.uniform(-12, 12)
    centre = (x + margin + w / 2, y + margin + h / 2)
    ink = cv2.warpAffine(np.asarray(layer), cv2.getRotationMatrix2D(centre, angle, 1.0),
                         (image.shape[1], image.shape[0])).astype(np.float32)[..., None] / 255
    red = np.array([60, 50, 220], np.float32) / 255  # BGR transmittance of the ink
    strength = rng.uniform(0.6, 0.9)
    return (image * (1 - strength * ink * (1 - red))).astype(np.uint8)


def turn_image(image: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """`image` turned `degrees` counter-clockwise on a larger desk-grey canvas (nothing cut), and the
    2x3 map from its pixels to the turned image's."""
    matrix, canvas = turn_canvas((image.shape[1], image.shape[0]), degrees)
    return cv2.warpAffine(image, matrix, canvas, flags=cv2.INTER_CUBIC, borderValue=(120, 125, 130)), matrix


def make_still(still_class: StillClass, seed: int, *, document_type: DocumentType = DocumentType.PASSPORT,
               angle: float | None = None, px_per_mm: float | None = None) -> MRZStill:
    """One still of `still_class` for `document_type`; `angle` overrides the drawn page rotation."""
    rng = np.random.default_rng([seed, list(StillClass).index(still_class)])
    ppm = px_per_mm or float(rng.uniform(7.5, 11.0))
    if still_class is StillClass.BLANK:
        size = tuple(int(round(v * ppm)) + 2 * int(_MARGIN_MM * ppm) for v in document_type.size_mm)
        sheet = np.full((size[1], size[0], 3), _PAPER[::-1], np.uint8)
        sheet = (sheet + rng.normal(0, 2, sheet.shape)).clip(0, 255).astype(np.uint8)
        return MRZStill(sheet, still_class, None, 0.0, (), np.empty((0, 2), np.float32))
    identity = random_identity(rng, document_type)
    render = documents.render(identity, str(rng.choice(PEOPLE)), rng, px_per_mm=ppm)
    sheet, margin = _sheet(render)
    canvas = Image.fromarray(sheet)
    draw = ImageDraw.Draw(canvas)
    if still_class in (StillClass.OCR_LINE_ABOVE, StillClass.OCR_LINE_BELOW):
        _ocr_line(draw, rng, render, margin, below=still_class is StillClass.OCR_LINE_BELOW)
    elif still_class is StillClass.TEXT_ROW_UNDER:
        _text_row(draw, rng, render, margin)
    elif still_class is StillClass.ANNOTATION_BOX:
        _annotation_box(draw, rng, render, margin)
    image = np.asarray(canvas).copy()
    turn = 0.0
    if still_class is StillClass.ROTATED:
        turn = float(rng.choice([-1, 1]) * rng.uniform(12, 40)) if angle is None else angle
    elif still_class is StillClass.TURNED_OVERPRINT:
        image = _overprint(image, rng, render, margin)
        turn = float(rng.choice([90, -90])) if angle is None else angle
    x, y, w, h = render.mrz_box
    quad = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32) + margin
    if turn:
        image, matrix = turn_image(image, turn)
        quad = cv2.transform(quad[None], matrix)[0]
    image = (image + rng.normal(0, 2.5, image.shape)).clip(0, 255).astype(np.uint8)
    return MRZStill(image, still_class, document_type, turn, render.mrz_lines, quad)
