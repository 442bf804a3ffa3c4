"""The declared-identity step: the customer's declaration against the document the document stage
read, in findings. The printed identity lines (OCR, tens of milliseconds each) are read only when
they could change the outcome (`declared.printed_lines_needed`): most declarations are settled by
the MRZ alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from .declared import DeclaredComparison, Outcome, compare_declared, printed_lines_needed
from .document.mrz import parse
from .document.printed import PrintedIdentity
from .errors import InvalidInput
from .findings import Finding, FindingCode
from .schema import DeclaredEvidence, DeclaredIdentity, DocumentEvidence, StageState

PrintedReader = Callable[[DocumentEvidence, tuple[str, ...]], PrintedIdentity | None]
_FINDINGS = {Outcome.MISMATCH: FindingCode.DECLARED_MISMATCH, Outcome.UNKNOWN: FindingCode.DECLARED_UNCERTAIN}


def _finding(comparison: DeclaredComparison) -> tuple[Finding, ...]:
    code = _FINDINGS.get(comparison.outcome)
    if code is None:
        return ()
    fields = [f for f in comparison.fields if f.outcome is comparison.outcome]
    return (Finding(code, "; ".join(f"{f.field.value}: {f.rule.value} (declared {f.declared!r}, "
                                    f"document {f.document!r})" for f in fields)),)


def check_declared_identity(declared: DeclaredIdentity, document: DocumentEvidence, read_printed: PrintedReader,
                            *, today: dt.date) -> DeclaredEvidence:
    """Compare the declaration with the document's MRZ, and with its printed lines when they matter."""
    if document.document_type is None or not document.mrz_lines:
        return DeclaredEvidence(state=StageState.PARTIAL, findings=(Finding(
            FindingCode.CHECK_NOT_RUN, "the document's MRZ was not read: the declared identity is not compared"),))
    kind, lines = document.document_type, document.mrz_lines
    try:
        fields = parse("\n".join(lines), today=today).fields
        comparison = compare_declared(declared, kind, fields, lines)
        needed = printed_lines_needed(comparison, kind, lines)
        printed = read_printed(document, needed) if needed else None
        if printed is not None:
            comparison = compare_declared(declared, kind, fields, lines, printed)
    except InvalidInput as exc:  # an MRZ that does not have its document's shape: not comparable
        return DeclaredEvidence(state=StageState.PARTIAL, findings=(Finding(FindingCode.CHECK_NOT_RUN, exc.message),))
    note = "" if printed is not None or not needed else f"printed lines {', '.join(needed)} not readable"
    return DeclaredEvidence(state=StageState.COMPLETE, findings=_finding(comparison), comparison=comparison,
                            printed=printed, note=note)
