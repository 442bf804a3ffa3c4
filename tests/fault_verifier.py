"""A scripted verifier for the worker fault tests, and `python -m tests.fault_verifier ARGS` = `kyc ARGS`
with it in place of the engine (the worker runs as an operator starts it, minus the models).

The document file of a request holds a JSON script: `status` to answer, `sleep` seconds (or
`sleep_once`: only on the first run, marked by a file next to the document), and `runlog`: a file
to which every run appends a JSON line when it starts and one when it ends (event, case, pid,
backend, time), so a test can count the runs of each case and see which process ran it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from kycengine.decision import decide
from kycengine.reasons import Reason
from kycengine.schema import DocumentEvidence, FaceEvidence, LivenessEvidence, StageState, Verdict

REASONS = {"approved": (), "refused": (Reason.DOCUMENT_EXPIRED,), "retry_required": (Reason.DOCUMENT_BLURRY,),
           "manual_review": (Reason.VERIFICATION_INCOMPLETE,)}


class FaultVerifier:
    """`kycengine.pipeline.Verifier.verify`'s signature, answering what the document's script says."""

    def __init__(self, backend: str = "insightface") -> None:
        self.backend = backend

    def verify(self, document_video: Any, selfie_video: Any, *, declared: Any = None, case_id: str = "local",
               attempt: int = 1, today: dt.date | None = None) -> Verdict:
        started = time.time()
        script = json.loads(Path(document_video).read_text())

        def note(event: str) -> None:
            if script.get("runlog"):
                line = json.dumps({"event": event, "case": case_id, "pid": os.getpid(), "backend": self.backend,
                                   "at": time.time()})
                with open(script["runlog"], "a", encoding="utf-8") as log:
                    log.write(line + "\n")

        note("start")
        once = Path(f"{document_video}.ran")
        if script.get("sleep_once") and not once.exists():
            once.write_text("ran")
            time.sleep(float(script["sleep_once"]))
        time.sleep(float(script.get("sleep", 0)))
        note("end")
        reasons = REASONS[script.get("status", "approved")]
        document = DocumentEvidence(state=StageState.COMPLETE, reasons=reasons)
        face = FaceEvidence(state=StageState.COMPLETE, similarity=0.8)
        liveness = LivenessEvidence(state=StageState.COMPLETE, live=True)
        status, found = decide(document, face, liveness)
        total_ms = round((time.time() - started) * 1000, 1)
        return Verdict(case_id=case_id, attempt=attempt, status=status, reasons=found, document=document,
                       face=face, liveness=liveness, timings_ms={"decode": 1.0, "total": total_ms},
                       created_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0))


if __name__ == "__main__":
    import workers.worker
    from kycengine.cli import main

    workers.worker.worker_verifier_factory = FaultVerifier
    sys.exit(main(sys.argv[1:]))
