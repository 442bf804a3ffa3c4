"""`python -m tests.fault_verifier ARGS` = `kyc ARGS` with the scripted verifier of
tests/workers_support.py in place of the engine: the worker runs as an operator starts it, minus the
models (what the document file's script says is in `ScriptedVerifier`'s docstring)."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    import workers.worker
    from kycengine.cli import main
    from tests.workers_support import ScriptedVerifier

    workers.worker.worker_verifier_factory = ScriptedVerifier
    sys.exit(main(sys.argv[1:]))
