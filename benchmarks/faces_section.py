"""Face matching section: genuine/impostor scores and FAR/FRR per kycengine backend and the peer."""

from __future__ import annotations

from typing import Any

from . import face_pairs
from .report import Section


def _row(result: dict[str, Any]) -> dict[str, Any]:
    g, i, t = result["genuine"], result["impostor"], result["threshold"]
    return {"backend": result["backend"], "threshold": f"{t['cosine']:.2f} ± {t['band']:.2f}",
            "genuine median (min)": f"{g['median']:.3f} ({g['min']:.3f})",
            "impostor median (max)": f"{i['median']:.3f} ({i['max']:.3f})",
            "FRR": f"{result['false_non_match_below_band']}/{g['n']}",
            "FAR": f"{result['false_match_above_band']}/{i['n']}",
            "to review": result["uncertain_genuine"] + result["uncertain_impostor"],
            "detect ms (720p)": round(result["detect_ms_720p"], 1)}


def run() -> Section:
    """Both kycengine backends, then face_recognition (dlib) when the bench extra is installed."""
    results = [face_pairs.run(name) for name in ("insightface", "opencv")]
    notes = ["FRR: genuine pairs below the uncertain band; FAR: impostor pairs above it; "
             "pairs inside the band go to a person (manual_review)."]
    try:
        from . import face_peers
        results.append(face_peers.run())
    except ImportError:
        notes.append("face_recognition is not installed: run `make bench` (installs the peers).")
    for result in results:
        result.pop("pairs")
    return Section("faces", "Face match: shipped photos, genuine vs impostor pairs",
                   [_row(r) for r in results], results, tuple(notes))
