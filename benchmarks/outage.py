"""Time from Redis back to every case delivered, after an outage while verifications run and wait.

One `kyc worker --processes 2` (real models, warmed up) on a private redis-server with an
append-only file, a webhook receiver that checks signatures, generated capture samples. First the
cases are verified and delivered with no outage (the reference time for the same work); then the
same number of new cases are submitted, Redis is SIGKILLed once both worker processes are in a
verification, kept down for the outage, and started again from its append-only file. Measured:
seconds from Redis answering again to the last case delivered, and whether every case has exactly
one acknowledged delivery. The workers' Redis backoff is the default (KYC_REDIS_BACKOFF_MAX, 5 s).

    PYTHONPATH=. python -m benchmarks.outage [--cases 6] [--outages 10,30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from .report import Section, main_for
from .throughput import make_samples

SECRET = uuid.uuid4().hex


def _submit(cases: list[tuple[Path, Path]], prefix: str, config: Any, redis: Any, receiver: Any) -> list[str]:
    from workers.enqueue import submit

    ids = [f"{prefix}-{i}" for i in range(len(cases))]
    for case_id, (document, selfie) in zip(ids, cases):
        own = document.parent.parent / case_id  # each case its own upload: a case may not name another's
        own.mkdir()
        for source in (document, selfie):
            shutil.copy(source, own / source.name)
        submit({"case_id": case_id, "attempt": 1, "document_video": str(own / document.name),
                "selfie_video": str(own / selfie.name), "callback_url": receiver.url}, config, connection=redis)
    return ids


def measure(cases: int, outages: list[float], size: tuple[int, int] = (640, 360), fps: int = 15) -> dict[str, Any]:
    """The reference run and one run per outage length; the JSON-ready report."""
    from rq import Queue

    from tests.fault_env import Receiver, RedisServer, WorkerProcess, wait_for
    from workers.config import WorkerConfig
    from workers.connection import connect
    from workers.probe import check

    runs: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="kyc-outage-") as folder:
        root = Path(folder)
        samples = make_samples(root / "media", min(cases, 3), size, fps)
        jobs = [samples[i % len(samples)] for i in range(cases)]
        server = RedisServer(root / "redis").start()
        receiver = Receiver(SECRET)
        env = {"KYC_REDIS_URL": server.url, "KYC_MEDIA_ROOTS": str(root / "media"), "KYC_WEBHOOK_SECRET": SECRET,
               "KYC_WORKER_PROCESSES": "2", "KYC_LOG_LEVEL": "INFO",
               "KYC_CALLBACK_ALLOW_NETWORKS": "127.0.0.1/32"}  # the receiver listens on loopback
        config = WorkerConfig.from_env(env)
        worker = WorkerProcess(env, root / "worker.log", module="kycengine")
        try:
            wait_for(lambda: check(config, min_workers=2).ok, 300, "two live workers")

            def delivered(ids: list[str]) -> list[float] | None:
                acks = [receiver.acknowledged(i) for i in ids]
                return [a[0].at for a in acks] if all(acks) else None

            redis = connect(server.url)
            started = time.time()
            ids = _submit(jobs, "reference", config, redis, receiver)
            reference_s = max(wait_for(lambda: delivered(ids), 600, "the reference cases")) - started
            for outage_s in outages:
                redis = connect(server.url)
                queue = Queue(config.verify_queue, connection=redis)
                ids = _submit(jobs, f"outage{outage_s:g}", config, redis, receiver)
                wait_for(lambda: queue.started_job_registry.get_job_count(cleanup=False) >= 2, 60,
                         "both workers in a verification")
                server.kill()
                down_at = time.time()
                time.sleep(outage_s)
                server.start()
                back_at = time.time()
                done = wait_for(lambda: delivered(ids), 600, "every case delivered")
                once = all(len(receiver.acknowledged(i)) == 1 for i in ids)
                runs.append({"outage_s": round(back_at - down_at, 1), "cases": cases,
                             "back_to_all_delivered_s": round(max(done) - back_at, 2),
                             "reference_all_cases_s": round(reference_s, 2), "each_delivered_once": once})
        finally:
            worker.close()
            receiver.stop()
            server.kill()
    return {"cases": cases, "size": f"{size[0]}x{size[1]}", "fps": fps, "runs": runs,
            "loadavg": [round(load_before, 2), round(os.getloadavg()[0], 2)], "cpu_count": os.cpu_count()}


def section(cases: int = 6, outages: tuple[float, ...] = (10.0, 30.0)) -> Section:
    """For `python -m benchmarks`: 6 cases (640x360, 15 fps), outages of 10 s and 30 s."""
    report = measure(cases, list(outages))
    rows = [{"outage s": r["outage_s"], "cases": r["cases"],
             "Redis back -> all delivered s": r["back_to_all_delivered_s"],
             "same work, no outage s": r["reference_all_cases_s"],
             "each delivered once": "yes" if r["each_delivered_once"] else "NO"} for r in report["runs"]]
    notes = ("kyc worker --processes 2 on a redis-server with an append-only file, SIGKILLed while both worker "
             f"processes verify (every case still to deliver); {report['size']} at {report['fps']} fps samples; "
             "workers retry Redis with the default backoff (at most 5 s between tries)",
             f"load average {report['loadavg'][0]:.1f} -> {report['loadavg'][1]:.1f} on {report['cpu_count']} cores")
    return Section("outage", "Redis outage: time from Redis back to every case delivered", rows, [report], notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=6)
    parser.add_argument("--outages", default="10,30", help="outage lengths, seconds, comma-separated")
    args = parser.parse_args()
    outages = tuple(float(x) for x in args.outages.split(","))
    main_for(lambda: section(args.cases, outages))


if __name__ == "__main__":
    main()
