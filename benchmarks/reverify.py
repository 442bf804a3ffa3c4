"""Re-verification of the manual-review queue: cost per case and peak memory, 1 and 4 cases.

Generated 1280x720 30 fps captures are put in the review queue of a private key prefix (a
`manual_review` verdict stored for each), then `kyc review reverify --all` runs as an operator runs
it, in a fresh process: the strict engine (every frame up to 30 fps, both face backends) loads once
and each case runs in a child forked from it. Wall time per case and the peak resident memory of
the process and its children (RUSAGE_CHILDREN: the largest of them) are reported; memory must not
grow with the number of cases. Needs a Redis (KYC_REDIS_URL, default redis://127.0.0.1:6379/15).

    PYTHONPATH=. python -m benchmarks.reverify
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from .report import Section, main_for
from .throughput import make_samples

ROOT = Path(__file__).resolve().parents[1]
# Runs the command given as arguments and prints, last, the CPU time and the peak resident memory of
# its whole process tree (RUSAGE_CHILDREN of a process that has no other children: the largest).
_MEASURED = """
import json, resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024)}))
sys.exit(code)
"""


def _queue(cases: list[tuple[Path, Path]], config: Any) -> None:
    """A manual_review verdict stored for each case (its own media), as a worker would."""
    from kycengine.schema import VerificationRequest
    from workers.enqueue import connect
    from workers.outcomes import commit, internal_error_verdict

    redis = connect(config)
    for n, (document, selfie) in enumerate(cases):
        case_id = f"bench-{n}"
        request = VerificationRequest(case_id=case_id, attempt=1, document_video=str(document),
                                      selfie_video=str(selfie))
        commit(config, redis, request, internal_error_verdict(case_id, 1, "queued by the benchmark"))


def measure(count: int, root: Path) -> dict[str, Any]:
    """Queue `count` cases and re-verify them all in a fresh `kyc` process."""
    from workers.config import WorkerConfig
    from workers.enqueue import connect

    token = uuid.uuid4().hex[:8]
    folder = root / f"cases{count}-{token}"
    cases = make_samples(folder, count, (1280, 720), 30)
    env = {**os.environ, "KYC_REDIS_URL": os.environ.get("KYC_REDIS_URL", "redis://127.0.0.1:6379/15"),
           "KYC_KEY_PREFIX": f"kycbench:{token}:", "KYC_MEDIA_ROOTS": str(folder),
           "KYC_WEBHOOK_SECRET": uuid.uuid4().hex}
    config = WorkerConfig.from_env(env)
    _queue(cases, config)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _MEASURED, sys.executable, "-m", "kycengine", "review", "reverify",
                           "--all", "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    redis = connect(config)
    for key in redis.scan_iter(match=f"kycbench:{token}:*", count=1000):
        redis.delete(key)
    if done.returncode != 0:
        raise RuntimeError(f"kyc review reverify failed: {done.stderr.strip()[-500:]}")
    usage = json.loads(done.stdout.strip().splitlines()[-1])
    return {"cases": count, "wall_s": round(wall, 2), "wall_s_per_case": round(wall / count, 2), **usage}


def run() -> Section:
    """Re-verify 1 then 4 queued cases; wall time per case (model loading included) and peak memory."""
    with tempfile.TemporaryDirectory(prefix="kyc-reverify-") as root:
        rows = [measure(count, Path(root)) for count in (1, 4)]
    growth = rows[1]["peak_rss_mib"] - rows[0]["peak_rss_mib"]
    table = [{"cases": r["cases"], "wall s": r["wall_s"], "wall s per case": r["wall_s_per_case"],
              "CPU s": r["cpu_s"], "peak RSS MiB": r["peak_rss_mib"]} for r in rows]
    notes = ("`kyc review reverify --all` in a fresh process on 1280x720 30 fps captures: strict engine "
             "(all frames up to 30 fps, insightface cross-checked with opencv), models loaded once, each "
             "case in a forked child; wall time includes loading the models",
             f"peak memory growth from 1 to 4 cases: {growth:+d} MiB (largest process, RUSAGE_CHILDREN)",
             f"marginal cost per case: {(rows[1]['wall_s'] - rows[0]['wall_s']) / 3:.2f} s wall")
    return Section("reverify", "Re-verification of the review queue: cost and memory", table, rows, notes)


if __name__ == "__main__":
    main_for(run)
