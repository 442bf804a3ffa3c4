"""Where things are on the front of each accepted document, in millimetres from its top-left corner.

The MRZ follows ICAO 9303 (OCR-B at 2.54 mm a character, cap height about 2.3 mm, centred across the
document, the last line's baseline a few millimetres above the bottom edge); the portrait and the
printed fields follow the French designs. These are the same numbers the capture generator draws
with (`kycengine.synth.documents.DESIGNS`; `tests/test_document.py` checks that they agree), kept here
so that the engine never imports the generator. Boxes are (x, y, width, height) in millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .mrz import MRZFormat
from .types import DocumentType

MRZ_PITCH_MM = 2.54  # ICAO 9303: 10 characters per inch
MRZ_CAP_HEIGHT_MM = 2.3

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class PrintedField:
    """A printed text line: where it starts, its baseline, its em size and how wide it may run (mm).

    For the old CNI the label is printed inline, before the value: the line starts near the value's
    start (a little of the label may remain, which the comparison tolerates). `reach_mm` is how far
    from the expected baseline the line may be found: less for a line printed close to others.
    """

    x_mm: float
    baseline_mm: float
    size_mm: float
    width_mm: float
    reach_mm: float = 1.5


@dataclass(frozen=True)
class Layout:
    """One document design: size, MRZ geometry, portrait box and the printed fields the engine reads."""

    document_type: DocumentType
    mrz_format: MRZFormat
    mrz_lines: int
    mrz_width: int  # characters per MRZ line
    mrz_line_spacing_mm: float
    mrz_bottom_mm: float  # from the last MRZ baseline to the bottom edge
    portrait_mm: Box
    fields: dict[str, PrintedField]  # printed lines read: cross-checked with the MRZ, compared with a declaration

    @property
    def size_mm(self) -> tuple[float, float]:
        """(width, height) of the document in millimetres."""
        return self.document_type.size_mm

    @property
    def aspect(self) -> float:
        """Width over height."""
        w, h = self.size_mm
        return w / h

    def mrz_baselines_mm(self) -> tuple[float, ...]:
        """Baseline of each MRZ line, from the top edge."""
        last = self.size_mm[1] - self.mrz_bottom_mm
        return tuple(last - (self.mrz_lines - 1 - row) * self.mrz_line_spacing_mm for row in range(self.mrz_lines))

    @property
    def mrz_left_mm(self) -> float:
        """Left edge of the first MRZ character cell (the lines are centred)."""
        return (self.size_mm[0] - self.mrz_width * MRZ_PITCH_MM) / 2

    def mrz_box_mm(self, pad: float = 1.2) -> Box:
        """The MRZ lines' box (cap tops to last baseline), grown by `pad` millimetres."""
        baselines = self.mrz_baselines_mm()
        top = baselines[0] - MRZ_CAP_HEIGHT_MM - pad
        return (self.mrz_left_mm - pad, top, self.mrz_width * MRZ_PITCH_MM + 2 * pad, baselines[-1] + pad - top)


LAYOUTS: dict[DocumentType, Layout] = {
    DocumentType.FR_CNI_1988: Layout(
        DocumentType.FR_CNI_1988, MRZFormat.FR_CNI_1988, 2, 36, 4.23, 4.8, (5.0, 17.0, 26.0, 33.0),
        {"document_number": PrintedField(49.0, 13.0, 3.0, 54.0), "surname": PrintedField(38.0, 21.0, 3.0, 65.0),
         "usage_name": PrintedField(39.0, 24.1, 2.6, 63.0, 0.3), "given_names": PrintedField(43.0, 27.0, 3.0, 60.0),
         "birth_place": PrintedField(36.5, 39.0, 3.0, 60.0)}),
    DocumentType.FR_CNI_2021: Layout(
        DocumentType.FR_CNI_2021, MRZFormat.TD1, 3, 30, 4.23, 3.6, (4.0, 9.5, 22.0, 28.0),
        {"surname": PrintedField(29.0, 14.0, 2.5, 55.0), "document_number": PrintedField(29.0, 32.5, 2.5, 30.0),
         "usage_name": PrintedField(46.5, 16.3, 1.8, 37.0, 0.6), "given_names": PrintedField(29.0, 20.0, 2.5, 55.0)}),
    DocumentType.PASSPORT: Layout(
        DocumentType.PASSPORT, MRZFormat.TD3, 2, 44, 4.6, 5.0, (6.0, 12.0, 33.0, 43.0),
        {"document_number": PrintedField(92.0, 17.0, 2.9, 32.0), "surname": PrintedField(43.0, 25.0, 2.9, 80.0),
         "usage_name": PrintedField(43.0, 28.3, 2.6, 80.0, 0.6), "given_names": PrintedField(43.0, 33.0, 2.9, 80.0),
         "birth_place": PrintedField(59.5, 49.0, 2.9, 62.0)}),
}

# Documents of other issuers: ICAO 9303 fixes each format's size (TD1 ID-1, TD2 ID-2, TD3 ID-3) and
# where its MRZ lies, and the portrait sits in the left part of zone V on all of them; where the
# printed fields are is the issuer's own, so none are known (`fields` is empty: no printed-field
# cross-check rather than one read at the French places). `document_type` is the size class here.
ICAO_LAYOUTS: dict[MRZFormat, Layout] = {
    MRZFormat.TD1: replace(LAYOUTS[DocumentType.FR_CNI_2021], fields={}),
    MRZFormat.TD2: replace(LAYOUTS[DocumentType.FR_CNI_1988], mrz_format=MRZFormat.TD2, fields={}),
    MRZFormat.TD3: replace(LAYOUTS[DocumentType.PASSPORT], fields={}),
}
FRANCE = "FRA"


def layout_for(mrz_format: MRZFormat, document_type: DocumentType | None, issuing_state: str) -> Layout | None:
    """The layout of a document as its MRZ describes it: a French design only for a French document
    (the French cards are French by definition, a passport when issued by France), otherwise the
    ICAO layout of its format (None for a format without one, e.g. a visa)."""
    if document_type is not None and (document_type is not DocumentType.PASSPORT or issuing_state == FRANCE):
        return LAYOUTS[document_type]
    return ICAO_LAYOUTS.get(mrz_format)


# The MRZ formats that identify a document kind on their own (TD1 is the 2021 CNI only once its
# document code and issuing state say so; see analyser.document_type_of).
TYPE_OF_FORMAT: dict[MRZFormat, DocumentType] = {layout.mrz_format: kind for kind, layout in LAYOUTS.items()}
