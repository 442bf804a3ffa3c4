"""Render the front of a French identity document as a flat, upright colour image with its layout.

The three designs (old CNI, 2021 CNI, passport data page) are described as data: background tints
and guilloche, printed fields (label, value, position in millimetres), portrait box and MRZ geometry.
The MRZ is OCR-B at the ICAO pitch (2.54 mm a character, 10 per inch), cap height 2.3 mm, centred
horizontally, so that a reader sees the real proportions. The layout is returned in pixels, as
(x, y, width, height) boxes in the flat render, so tests and later stages know the ground truth.
"""

from __future__ import annotations

import dataclasses
import subprocess
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..document.mrz import MRZFormat, compose
from ..document.types import DocumentType
from ..errors import InvalidInput
from . import faces
from .identity import Identity, UsageMention

Box = tuple[int, int, int, int]  # x, y, width, height in pixels of the flat render
RGB = tuple[int, int, int]

DEFAULT_PX_PER_MM = 10.0
MRZ_PITCH_MM = 2.54  # ICAO 9303: 10 characters per inch
MRZ_CAP_HEIGHT_MM = 2.3
MRZ_FORMATS: dict[DocumentType, MRZFormat] = {
    DocumentType.FR_CNI_1988: MRZFormat.FR_CNI_1988,
    # The real 2021 card carries its TD1 MRZ on the back. We film one side only, so the generator
    # prints it on the lower part of the front; the rest of the front follows the real card.
    DocumentType.FR_CNI_2021: MRZFormat.TD1,
    DocumentType.PASSPORT: MRZFormat.TD3,
}

_OCRB = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_FONTS: dict[str, tuple[str, str]] = {  # role -> (DejaVu file, fontconfig pattern as fallback)
    "sans": ("DejaVuSans.ttf", "sans-serif"),
    "bold": ("DejaVuSans-Bold.ttf", "sans-serif:bold"),
    "condensed": ("DejaVuSansCondensed.ttf", "sans-serif:condensed"),
    "condensed_bold": ("DejaVuSansCondensed-Bold.ttf", "sans-serif:condensed:bold"),
    "mono": ("DejaVuSansMono-Bold.ttf", "monospace:bold"),
}
_INK: RGB = (22, 22, 26)


@dataclass(frozen=True)
class Text:
    """One printed field: a label and its value, or a fixed line of text when `key` is None."""

    key: str | None  # identity field it shows (the layout's name for its box), None for fixed text
    label: str
    x_mm: float
    y_mm: float  # baseline of the value (and of the label when `inline`)
    size_mm: float = 2.6  # em size of the value
    font: str = "bold"
    color: RGB = _INK
    inline: bool = True  # label on the same line before the value, else small label above it
    label_size_mm: float = 1.5
    label_font: str = "sans"
    label_color: RGB = (40, 55, 110)


@dataclass(frozen=True)
class Design:
    """Everything that differs between the document kinds, in millimetres and RGB."""

    tints: tuple[RGB, RGB]  # background gradient, top-left to bottom-right
    inks: tuple[RGB, RGB]  # the two guilloche colours
    texts: tuple[Text, ...]
    portrait_mm: tuple[float, float, float, float]  # x, y, width, height
    grey_portrait: bool
    mrz_line_spacing_mm: float
    mrz_bottom_mm: float  # from the last MRZ baseline to the bottom edge
    corner_radius_mm: float
    signature_mm: tuple[float, float, float, float] | None = None
    flag_mm: tuple[float, float, float, float] | None = None  # small tricolour: x, y, width, height


@dataclass(frozen=True, eq=False)
class CardRender:
    """A flat upright render of a document's front (BGR) and where everything on it is, in pixels."""

    document_type: DocumentType
    image: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)  # 255 on the card, 0 outside its rounded corners
    px_per_mm: float
    mrz_lines: tuple[str, ...]
    mrz_box: Box
    mrz_line_boxes: tuple[Box, ...]
    portrait_box: Box
    fields: dict[str, Box]  # value box of each printed field, by Text.key

    @property
    def size_mm(self) -> tuple[float, float]:
        """(width, height) of the document in millimetres."""
        return self.document_type.size_mm


def _texts_cni_1988() -> tuple[Text, ...]:
    blue = (25, 45, 120)
    return (
        Text(None, "RÉPUBLIQUE FRANÇAISE", 31.0, 7.2, 3.4, "bold", blue),
        Text("document_number", "CARTE NATIONALE D'IDENTITÉ N° :", 6.0, 13.0, 3.0, "mono",
             label_size_mm=2.6, label_font="condensed_bold", label_color=blue),
        Text("surname", "Nom :", 35.0, 21.0, 3.0, "mono"),
        Text("usage_name", "", 39.9, 24.1, 2.6, "mono", inline=False),  # "ép. X" below the name
        Text("given_names", "Prénom(s) :", 35.0, 27.0, 3.0, "mono"),
        Text("sex", "Sexe :", 35.0, 33.0, 3.0, "mono"),
        Text("birth_date", "Né(e) le :", 55.0, 33.0, 3.0, "mono"),
        Text("birth_place", "à :", 35.0, 39.0, 3.0, "mono"),
        Text("height", "Taille :", 35.0, 45.0, 3.0, "mono"),
        Text(None, "Signature du titulaire :", 35.0, 51.0, 2.2, "condensed", (40, 55, 110)),
    )


def _texts_cni_2021() -> tuple[Text, ...]:
    blue = (20, 50, 130)
    above = {"inline": False, "size_mm": 2.5}
    return (
        Text(None, "RÉPUBLIQUE FRANÇAISE", 9.0, 5.6, 2.3, "bold", blue),
        Text(None, "CARTE NATIONALE D'IDENTITÉ", 46.0, 4.6, 2.2, "condensed_bold", blue),
        Text(None, "IDENTITY CARD", 46.0, 7.3, 1.8, "condensed", blue),
        Text("surname", "NOM / Surname", 29.0, 14.0, **above),
        Text("usage_name", "Nom d'usage / Usage name", 29.0, 16.3, 1.8, label_size_mm=1.3),
        Text("given_names", "Prénoms / Given names", 29.0, 20.0, **above),
        Text("sex", "SEXE / Sex", 29.0, 26.0, **above),
        Text("nationality", "NATIONALITÉ / Nationality", 40.0, 26.0, **above),
        Text("birth_date", "DATE DE NAISS. / Date of birth", 60.0, 26.0, **above),
        Text("document_number", "N° DU DOCUMENT / Document No", 29.0, 32.5, **above),
        Text("expiry_date", "DATE D'EXPIR. / Expiry date", 60.0, 32.5, **above),
    )


def _texts_passport() -> tuple[Text, ...]:
    red = (120, 30, 60)
    above = {"inline": False, "size_mm": 2.9, "label_size_mm": 1.7}
    return (
        Text(None, "RÉPUBLIQUE FRANÇAISE", 6.0, 7.0, 3.2, "bold", red),
        Text(None, "PASSEPORT / PASSPORT", 76.0, 7.0, 3.2, "bold", red),
        Text("document_kind", "Type / Type", 43.0, 17.0, **above),
        Text("issuing_state", "Code du pays / Country code", 58.0, 17.0, **above),
        Text("document_number", "Passeport n° / Passport No.", 92.0, 17.0, **above),
        Text("surname", "Nom / Surname", 43.0, 25.0, **above),
        Text("usage_name", "", 43.0, 28.3, 2.6, inline=False),  # "ép. X" below the name
        Text("given_names", "Prénoms / Given names", 43.0, 33.0, **above),
        Text("nationality", "Nationalité / Nationality", 43.0, 41.0, **above),
        Text("birth_date", "Date de naissance / Date of birth", 85.0, 41.0, **above),
        Text("sex", "Sexe / Sex", 43.0, 49.0, **above),
        Text("birth_place", "Lieu de naissance / Place of birth", 60.0, 49.0, **above),
        Text("issue_date", "Date de délivrance / Date of issue", 43.0, 57.0, **above),
        Text("expiry_date", "Date d'expiration / Date of expiry", 85.0, 57.0, **above),
        Text(None, "Signature du titulaire / Holder's signature", 43.0, 64.0, 1.7, "sans", (90, 40, 70)),
    )


DESIGNS: dict[DocumentType, Design] = {
    DocumentType.FR_CNI_1988: Design(
        tints=((236, 214, 222), (208, 222, 240)), inks=((150, 175, 222), (222, 160, 186)),
        texts=_texts_cni_1988(), portrait_mm=(5.0, 17.0, 26.0, 33.0), grey_portrait=False,
        mrz_line_spacing_mm=4.23, mrz_bottom_mm=4.8, corner_radius_mm=3.0,
        signature_mm=(62.0, 47.0, 34.0, 9.0)),
    DocumentType.FR_CNI_2021: Design(
        tints=((212, 226, 246), (238, 214, 232)), inks=((120, 160, 220), (210, 150, 200)),
        texts=_texts_cni_2021(), portrait_mm=(4.0, 9.5, 22.0, 28.0), grey_portrait=True,
        mrz_line_spacing_mm=4.23, mrz_bottom_mm=3.6, corner_radius_mm=3.18,
        flag_mm=(4.0, 2.8, 4.2, 2.8)),
    DocumentType.PASSPORT: Design(
        tints=((242, 226, 234), (226, 222, 244)), inks=((190, 140, 190), (140, 160, 215)),
        texts=_texts_passport(), portrait_mm=(6.0, 12.0, 33.0, 43.0), grey_portrait=False,
        mrz_line_spacing_mm=4.6, mrz_bottom_mm=5.0, corner_radius_mm=2.0,
        signature_mm=(80.0, 60.0, 36.0, 8.0)),
}


def _texts_foreign_passport() -> tuple[Text, ...]:
    """Another state's data page: the same fields as the French one, at other places (labels in English)."""
    ink = (30, 60, 90)
    above = {"inline": False, "size_mm": 2.9, "label_size_mm": 1.7}
    return (
        Text(None, "PASSPORT", 50.0, 7.0, 3.4, "bold", ink),
        Text("document_kind", "Type", 45.0, 13.5, **above),
        Text("issuing_state", "Code", 60.0, 13.5, **above),
        Text("document_number", "Passport No.", 78.0, 13.5, **above),
        Text("surname", "Surname", 45.0, 20.5, **above),
        Text("given_names", "Given names", 45.0, 27.5, **above),
        Text("birth_date", "Date of birth", 45.0, 34.5, **above),
        Text("nationality", "Nationality", 85.0, 34.5, **above),
        Text("sex", "Sex", 45.0, 41.5, **above),
        Text("birth_place", "Place of birth", 58.0, 41.5, **above),
        Text("issue_date", "Date of issue", 45.0, 48.5, **above),
        Text("expiry_date", "Date of expiry", 85.0, 48.5, **above),
    )


# A passport of another state than France: its own places for the printed fields and the portrait
# (the MRZ follows ICAO 9303 as on every passport), so that reading it at the French places is wrong.
FOREIGN_PASSPORT = Design(
    tints=((222, 236, 230), (236, 232, 214)), inks=((120, 180, 160), (200, 180, 120)),
    texts=_texts_foreign_passport(), portrait_mm=(5.0, 10.0, 35.0, 45.0), grey_portrait=False,
    mrz_line_spacing_mm=4.6, mrz_bottom_mm=5.0, corner_radius_mm=2.0, signature_mm=(45.0, 52.0, 40.0, 7.0))
FRANCE = "FRA"


def mrz_lines(identity: Identity, state: str = FRANCE) -> tuple[str, ...]:
    """The MRZ printed on `identity`'s document, check digits computed; `state` issued it (and is the
    holder's nationality)."""
    fields = identity.mrz_fields()
    if state != FRANCE:
        fields = dataclasses.replace(fields, issuing_state=state, nationality=state)
    return compose(MRZ_FORMATS[identity.document_type], fields)


def _date(day: date, document_type: DocumentType) -> str:
    return day.strftime("%d.%m.%Y" if document_type is DocumentType.FR_CNI_1988 else "%d %m %Y")


# How each design writes a usage name's mention, by the holder's sex: in full on the 2021 card,
# abbreviated ("ép.", "Vve") on the old card and the passport, as the issuing offices print them.
USAGE_MENTIONS: dict[tuple[UsageMention, str], tuple[str, str]] = {
    (UsageMention.SPOUSE, "F"): ("épouse", "ép."), (UsageMention.SPOUSE, "M"): ("époux", "ép."),
    (UsageMention.WIDOWED, "F"): ("veuve", "Vve"), (UsageMention.WIDOWED, "M"): ("veuf", "veuf"),
}


def usage_line(identity: Identity) -> str | None:
    """The usage-name line of `identity`'s document ("ép. MARTIN", "DUPONT MARTIN"), None without one."""
    usage = identity.usage
    if usage is None:
        return None
    name = usage.name.upper()
    if usage.mention is UsageMention.NONE:
        return name
    full, short = USAGE_MENTIONS[(usage.mention, identity.sex)]
    return f"{full if identity.document_type is DocumentType.FR_CNI_2021 else short} {name}"


def field_values(identity: Identity) -> dict[str, str]:
    """What each printed field shows, as the document prints it (accents kept; old CNI in capitals).

    The usage-name line is only present for a holder who has one."""
    kind = identity.document_type
    given = ", ".join(identity.given_names)
    usage = usage_line(identity)
    return {
        "document_kind": "P",
        "issuing_state": "FRA",
        "document_number": identity.document_number,
        "surname": identity.surname.upper(),
        "given_names": given.upper() if kind is DocumentType.FR_CNI_1988 else given,
        "sex": identity.sex,
        "nationality": "FRA" if kind is DocumentType.FR_CNI_2021 else "Française",
        "birth_date": _date(identity.birth_date, kind),
        "birth_place": f"{identity.birth_place.upper()} ({identity.birth_department})",
        "height": f"{identity.height_cm // 100},{identity.height_cm % 100:02d} m",
        "issue_date": _date(identity.issue_date, kind),
        "expiry_date": _date(identity.expiry_date, kind),
        **({"usage_name": usage} if usage else {}),
    }


# ---- fonts ---------------------------------------------------------------------------------------

@cache
def _font_file(role: str) -> str:
    filename, pattern = _FONTS[role]
    if (_DEJAVU / filename).is_file():
        return str(_DEJAVU / filename)
    found = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True,
                           check=False).stdout.strip()
    if not found:
        raise InvalidInput(f"no font for {role!r}: install fonts-dejavu-core")
    return found


@cache
def _font(role: str, size_px: int) -> ImageFont.FreeTypeFont:
    if role == "ocrb":
        if not _OCRB.is_file():
            raise InvalidInput(f"{_OCRB} is missing: install Debian's fonts-ocr-b")
        return ImageFont.truetype(str(_OCRB), size_px)
    return ImageFont.truetype(_font_file(role), size_px)


# ---- background ----------------------------------------------------------------------------------

def _curves(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Coverage (0..1, float32) of anti-aliased 1-px polylines; `points` is (curves, samples, 2) px."""
    canvas = np.zeros(size[::-1], np.uint8)
    cv2.polylines(canvas, list(np.round(points * 16).astype(np.int32)), False, 255, 1, cv2.LINE_AA, 4)
    return canvas.astype(np.float32) / 255.0


def _waves(rng: np.random.Generator, size: tuple[int, int], ppm: float) -> np.ndarray:
    """A family of interleaved sinusoidal lines across the whole card (the guilloche "waves")."""
    w, h = size
    x = np.linspace(-5, w + 5, 600)
    count = int(h / (0.9 * ppm))
    k = np.arange(count)[:, None]
    wavelength, amplitude = rng.uniform(14, 24) * ppm, rng.uniform(1.5, 3.0) * ppm
    y = (k * h / (count - 1) + amplitude * np.sin(2 * np.pi * x / wavelength + 0.45 * k)
         + 0.5 * amplitude * np.sin(2 * np.pi * x / (0.37 * wavelength) - 0.2 * k))
    return _curves(np.stack(np.broadcast_arrays(x[None, :], y), axis=-1), size)


def _rosette(rng: np.random.Generator, size: tuple[int, int], ppm: float) -> np.ndarray:
    """Rotated copies of an epitrochoid centred on the card's right half (the guilloche "rosette")."""
    w, h = size
    cx, cy = w * rng.uniform(0.6, 0.75), h * rng.uniform(0.35, 0.55)
    big, small = h * 0.32, h * rng.uniform(0.05, 0.08)
    d = small * rng.uniform(1.6, 2.4)
    t = np.linspace(0, 2 * np.pi, 1500)[None, :]
    phase = np.linspace(0, 2 * np.pi, 24, endpoint=False)[:, None]
    lobes = (big + small) / small
    x = cx + (big + small) * np.cos(t + phase) - d * np.cos(lobes * t + phase)
    y = cy + (big + small) * np.sin(t + phase) - d * np.sin(lobes * t + phase)
    return _curves(np.stack([x, y], axis=-1), size)


@cache
def _background(document_type: DocumentType, ppm: float, foreign: bool = False) -> np.ndarray:
    """The design's printed background (RGB uint8): tinted gradient, two guilloche colours, fibres.

    Every card of a kind shares its background, as real ones do, so it is drawn once from a fixed seed.
    `foreign`: the background of `FOREIGN_PASSPORT`.
    """
    design = FOREIGN_PASSPORT if foreign else DESIGNS[document_type]
    w_mm, h_mm = document_type.size_mm
    size = (round(w_mm * ppm), round(h_mm * ppm))
    rng = np.random.default_rng(list((document_type.value + ("-foreign" if foreign else "")).encode()))
    yy, xx = np.mgrid[0:size[1], 0:size[0]].astype(np.float32)
    ramp = ((xx / size[0] + yy / size[1]) / 2)[..., None]
    start, end = (np.array(c, np.float32) for c in design.tints)
    image = start * (1 - ramp) + end * ramp
    for ink, layer in zip(design.inks, (_waves(rng, size, ppm), _rosette(rng, size, ppm))):
        alpha = 0.4 * layer[..., None]
        image = image * (1 - alpha) + np.array(ink, np.float32) * alpha
    fibres = cv2.resize(rng.normal(0, 1, (size[1] // 8, size[0] // 8)).astype(np.float32), size)
    image += 3.0 * fibres[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


# ---- drawing -------------------------------------------------------------------------------------

def _px(mm: float, ppm: float) -> int:
    return round(mm * ppm)


def _box_mm(box: tuple[float, float, float, float], ppm: float) -> Box:
    return (_px(box[0], ppm), _px(box[1], ppm), _px(box[2], ppm), _px(box[3], ppm))


def _paste_portrait(image: np.ndarray, person: str, box: Box, grey: bool) -> None:
    """Print the portrait into `image` (RGB), faded a little into the background like ink on a card."""
    x, y, w, h = box
    photo = cv2.cvtColor(faces.portrait(person, (w, h)), cv2.COLOR_BGR2RGB).astype(np.float32)
    if grey:
        photo = np.repeat(photo.mean(axis=2, keepdims=True), 3, axis=2) * np.float32([0.97, 0.98, 1.0])
    under = image[y:y + h, x:x + w].astype(np.float32)
    image[y:y + h, x:x + w] = np.clip(0.88 * photo + 0.12 * under, 0, 255).astype(np.uint8)


def _flag(image: np.ndarray, box: Box) -> None:
    """The blue, white and red vertical bands of the French flag."""
    x, y, w, h = box
    for i, colour in enumerate(((0, 85, 164), (250, 250, 250), (239, 65, 53))):
        cv2.rectangle(image, (x + i * w // 3, y), (x + (i + 1) * w // 3 - 1, y + h - 1), colour, -1)


def _clear_zone(image: np.ndarray, top: int) -> None:
    """Fade the background below `top` towards paper white: the MRZ's clear zone prints lighter."""
    zone = image[top:].astype(np.float32)
    image[top:] = (0.55 * zone + 0.45 * 248).astype(np.uint8)


def _signature(image: np.ndarray, rng: np.random.Generator, box: Box) -> None:
    """A smooth random scribble in blue ink inside `box`."""
    x, y, w, h = box
    t = np.linspace(0, 1, 300)
    knots = rng.uniform(0, 1, (7, 2))
    knots[:, 0] = np.sort(knots[:, 0])
    path = np.stack([np.interp(t, np.linspace(0, 1, 7), knots[:, i]) for i in (0, 1)], axis=1)
    path = cv2.GaussianBlur(path[:, None, :], (1, 31), 0)[:, 0, :]
    path += 0.15 * np.stack([np.sin(t * 37), np.cos(t * 23)], axis=1)
    points = np.round((path * [w, h] + [x, y]) * 16).astype(np.int32)
    cv2.polylines(image, [points], False, (30, 40, 110), max(1, round(h / 40)), cv2.LINE_AA, 4)


def _draw_text(draw: ImageDraw.ImageDraw, text: Text, value: str | None, ppm: float) -> Box | None:
    """Draw one field; returns the value's box (None for fixed text)."""
    x, y = text.x_mm * ppm, text.y_mm * ppm
    label_font = _font(text.label_font, _px(text.label_size_mm, ppm))
    if value is None:
        draw.text((x, y), text.label, font=_font(text.font, _px(text.size_mm, ppm)),
                  fill=text.color, anchor="ls")
        return None
    if text.inline:
        draw.text((x, y), text.label, font=label_font, fill=text.label_color, anchor="ls")
        x += draw.textlength(text.label + " ", font=label_font)
    else:
        draw.text((x, y - text.size_mm * ppm * 0.95), text.label, font=label_font,
                  fill=text.label_color, anchor="ls")
    font = _font(text.font, _px(text.size_mm, ppm))
    draw.text((x, y), value, font=font, fill=text.color, anchor="ls")
    left, top, right, bottom = draw.textbbox((x, y), value, font=font, anchor="ls")
    return (int(left), int(top), int(right - left), int(bottom - top))


def _mrz_baselines_mm(design: Design, line_count: int, height_mm: float) -> tuple[float, ...]:
    """Baseline of each MRZ line, in millimetres from the top edge."""
    last = height_mm - design.mrz_bottom_mm
    return tuple(last - (line_count - 1 - row) * design.mrz_line_spacing_mm for row in range(line_count))


def _draw_mrz(draw: ImageDraw.ImageDraw, lines: tuple[str, ...], design: Design,
              size_mm: tuple[float, float], ppm: float) -> tuple[Box, ...]:
    """OCR-B characters centred in 2.54 mm cells; returns each line's box (cap top to baseline)."""
    font = _font("ocrb", _px(MRZ_CAP_HEIGHT_MM / 0.71, ppm))  # OCR-B caps are 0.71 em high
    width_mm = len(lines[0]) * MRZ_PITCH_MM
    left = (size_mm[0] - width_mm) / 2
    boxes = []
    for line, baseline in zip(lines, _mrz_baselines_mm(design, len(lines), size_mm[1])):
        for col, char in enumerate(line):
            draw.text(((left + (col + 0.5) * MRZ_PITCH_MM) * ppm, baseline * ppm), char, font=font,
                      fill=_INK, anchor="ms")
        boxes.append(_box_mm((left, baseline - MRZ_CAP_HEIGHT_MM, width_mm, MRZ_CAP_HEIGHT_MM), ppm))
    return tuple(boxes)


def _union(boxes: tuple[Box, ...], pad: int) -> Box:
    """Smallest box holding all `boxes`, grown by `pad` pixels on every side."""
    x0 = min(b[0] for b in boxes) - pad
    y0 = min(b[1] for b in boxes) - pad
    x1 = max(b[0] + b[2] for b in boxes) + pad
    y1 = max(b[1] + b[3] for b in boxes) + pad
    return (x0, y0, x1 - x0, y1 - y0)


def rounded_mask(size: tuple[int, int], radius: int) -> np.ndarray:
    """255 inside a rectangle of `size` with rounded corners of `radius` pixels."""
    w, h = size
    mask = np.zeros((h, w), np.uint8)
    cv2.rectangle(mask, (radius, 0), (w - 1 - radius, h - 1), 255, -1)
    cv2.rectangle(mask, (0, radius), (w - 1, h - 1 - radius), 255, -1)
    for cx, cy in ((radius, radius), (w - 1 - radius, radius), (radius, h - 1 - radius),
                   (w - 1 - radius, h - 1 - radius)):
        cv2.circle(mask, (cx, cy), radius, 255, -1, cv2.LINE_AA)
    return mask


def render(identity: Identity, portrait_person: str, rng: np.random.Generator, *,
           mrz: tuple[str, ...] | None = None, px_per_mm: float = DEFAULT_PX_PER_MM,
           state: str = FRANCE) -> CardRender:
    """The front of `identity`'s document with `portrait_person`'s photo; `mrz` overrides the composed MRZ.

    A passport of another `state` than France is drawn with `FOREIGN_PASSPORT`'s design."""
    kind = identity.document_type
    if state != FRANCE and kind is not DocumentType.PASSPORT:
        raise InvalidInput(f"only passports are drawn for another state than France, not {kind.value}")
    design = FOREIGN_PASSPORT if state != FRANCE else DESIGNS[kind]
    lines = mrz or mrz_lines(identity, state)
    image = _background(kind, px_per_mm, state != FRANCE).copy()
    portrait_box = _box_mm(design.portrait_mm, px_per_mm)
    _paste_portrait(image, portrait_person, portrait_box, design.grey_portrait)
    if design.signature_mm:
        _signature(image, rng, _box_mm(design.signature_mm, px_per_mm))
    if design.flag_mm:
        _flag(image, _box_mm(design.flag_mm, px_per_mm))
    mrz_top = _mrz_baselines_mm(design, len(lines), kind.size_mm[1])[0] - MRZ_CAP_HEIGHT_MM
    _clear_zone(image, _px(mrz_top - 1.5, px_per_mm))
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    values = field_values(identity)
    if state != FRANCE:
        values.update(issuing_state=state, nationality=state)
    boxes = {t.key: _draw_text(draw, t, values[t.key] if t.key else None, px_per_mm)
             for t in design.texts if t.key is None or t.key in values}
    line_boxes = _draw_mrz(draw, lines, design, kind.size_mm, px_per_mm)
    size = (image.shape[1], image.shape[0])
    return CardRender(
        document_type=kind,
        image=cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2BGR),
        mask=rounded_mask(size, _px(design.corner_radius_mm, px_per_mm)),
        px_per_mm=px_per_mm, mrz_lines=tuple(lines),
        mrz_box=_union(line_boxes, _px(1.2, px_per_mm)), mrz_line_boxes=line_boxes,
        portrait_box=portrait_box,
        fields={k: b for k, b in boxes.items() if k is not None and b is not None})


def facing_page(render: CardRender) -> np.ndarray:
    """The passport page facing the data page (BGR, same size): the design's background, upside down."""
    return cv2.cvtColor(_background(render.document_type, render.px_per_mm)[::-1, ::-1], cv2.COLOR_RGB2BGR)


def photocopy(render: CardRender, rng: np.random.Generator) -> CardRender:
    """The same card as a black-and-white photocopy cut to size: grey, crushed contrast, toner specks.

    Light tints go to paper white, dark print to toner black; the copy is a little soft, carries
    random toner specks and faint drum streaks, and has the square corners of a scissor cut.
    """
    grey = cv2.cvtColor(render.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    black, white = rng.uniform(50, 80), rng.uniform(170, 195)
    level = np.clip((grey - black) / (white - black), 0, 1) ** rng.uniform(1.2, 1.6)
    paper, toner = rng.uniform(236, 248), rng.uniform(18, 40)
    copy = toner + (paper - toner) * level
    specks = cv2.GaussianBlur((rng.random(grey.shape) < 0.0006).astype(np.float32), (0, 0), 0.7)
    copy -= np.clip(specks * 900, 0, paper - toner)
    streaks = cv2.resize(rng.normal(0, 1, (1, grey.shape[1] // 6)).astype(np.float32), grey.shape[::-1],
                         interpolation=cv2.INTER_CUBIC)
    copy -= 2.5 * np.abs(streaks) ** 2
    copy += rng.normal(0, 3, grey.shape).astype(np.float32)
    copy = cv2.GaussianBlur(copy, (0, 0), 0.08 * render.px_per_mm)
    image = cv2.cvtColor(np.clip(copy, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    return dataclasses.replace(render, image=image, mask=np.full_like(render.mask, 255))
